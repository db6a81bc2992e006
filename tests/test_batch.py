import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.batch import MAX_QUESTION_CHARS, Writer, done_ids, parse_questions, run_batch
from rag.cli import cli

REPO = Path(__file__).resolve().parent.parent

JSONL = "\n".join([
    json.dumps({"id": "a", "question": "How long do manufacturers guarantee solar panels?", "topic": "energy"}),
    "{not json",
    json.dumps({"id": "b", "question": "   "}),
    json.dumps({"question": "Which company runs the Nightjet network?"}),
    "",
    json.dumps({"id": "a", "question": "A question with a duplicate id?"}),
    json.dumps({"id": "c", "question": "x" * (MAX_QUESTION_CHARS + 1)}),
    json.dumps({"id": "d", "question": "What does the waggle dance point to?"}),
])


def rows_of(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_txt_input_numbers_lines_and_skips_blanks():
    items = parse_questions("First question?\n\n  Second question?  \n", "txt")
    assert [(q.id, q.question) for q in items] == [("1", "First question?"), ("3", "Second question?")]


def test_jsonl_bad_lines_become_error_rows_with_their_line_numbers():
    items = parse_questions(JSONL, "jsonl")
    errors = {q.line: q.error for q in items if q.error}
    assert set(errors) == {2, 3, 6, 7}
    assert "invalid JSON" in errors[2] and "line 2" in errors[2]
    assert "empty" in errors[3] and "duplicate id 'a'" in errors[6] and "the limit is 2,000" in errors[7]
    good = [q for q in items if not q.error]
    assert [q.id for q in good] == ["a", "4", "d"]
    assert good[0].extra == {"topic": "energy"}


def test_csv_input_needs_a_question_column():
    items = parse_questions('id,question,owner\nq1,"Who runs the Nightjet network?",ann\n', "csv")
    assert items[0].id == "q1" and items[0].extra == {"owner": "ann"}
    with pytest.raises(Exception, match="'question' column"):
        parse_questions("id,text\n1,hello\n", "csv")


def run(fake_rag, text, fmt="jsonl", out_format="jsonl", skip=()):
    items = parse_questions(text, fmt)
    sink = io.StringIO()
    extra = sorted({k for q in items for k in q.extra})
    summary = run_batch(fake_rag, items, Writer(sink, out_format, extra, write_header=True), skip)
    return sink.getvalue(), summary


def test_one_row_per_input_in_input_order_with_errors_and_passthrough(fake_rag):
    out, summary = run(fake_rag, JSONL)
    rows = rows_of(out)
    assert [r["id"] for r in rows] == ["a", "2", "b", "4", "a", "c", "d"]
    assert rows[0]["topic"] == "energy" and rows[0]["error"] is None and rows[0]["citations"]
    assert rows[1]["answer"] is None and "invalid JSON" in rows[1]["error"]
    assert summary.failed == 4 and summary.answered + summary.abstained == 3
    assert len(summary.latencies) == 3


def test_csv_output_flattens_citations(fake_rag):
    out, _ = run(fake_rag, "How long do manufacturers guarantee solar panels?\n", "txt", "csv")
    row = next(csv.DictReader(io.StringIO(out)))
    assert row["id"] == "1" and "[1] solar.txt (" in row["citations"] and "25 years" in row["citations"]


def test_resume_after_a_torn_write_gives_the_same_file(fake_rag, tmp_path):
    clean, _ = run(fake_rag, JSONL)
    lines = clean.splitlines(keepends=True)
    partial = tmp_path / "out.jsonl"
    partial.write_text("".join(lines[:3]) + lines[3][:25], encoding="utf-8")  # killed mid-row
    skip = done_ids(partial, "jsonl")
    assert skip == {"a", "2", "b"}
    items = parse_questions(JSONL, "jsonl")
    with open(partial, "a", encoding="utf-8") as sink:
        summary = run_batch(fake_rag, items, Writer(sink, "jsonl", ["topic"], write_header=False), skip)
    assert summary.skipped == 4  # a, 2, b and the duplicate a
    resumed = rows_of(partial.read_text(encoding="utf-8"))
    strip = lambda rows: [(r["id"], r["answer"], r["error"]) for r in rows]
    assert strip(resumed) == [r for r in strip(rows_of(clean)) if not (r[0] == "a" and r[2])]


def test_cli_batch_reads_stdin_and_writes_csv(fake_rag, tmp_path, monkeypatch):
    monkeypatch.setattr("rag.cli.open_rag", lambda index_dir, config: fake_rag)
    out = tmp_path / "answers.csv"
    result = CliRunner().invoke(cli, ["batch", "-", "-o", str(out)],
                                input="Which company runs the Nightjet network?\n\nWhat does the waggle dance point to?\n")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["1", "3"]
    assert "ÖBB" in rows[0]["answer"]
    assert "2 answered" in result.output or "answered" in result.output


@pytest.mark.slow
def test_real_batch_over_the_dev_set(real_rag):
    text = (REPO / "eval" / "dev_qa.jsonl").read_text(encoding="utf-8")
    out, summary = run(real_rag, text)
    rows = rows_of(out)
    expected = [json.loads(line)["id"] for line in text.splitlines() if line.strip()]
    assert [r["id"] for r in rows] == expected
    assert summary.failed == 0 and summary.abstained >= 3
    assert all(r.get("answers") or r.get("unanswerable") for r in rows)  # input fields passed through


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_answers(real_rag, tmp_path):
    base = [json.loads(line) for line in (REPO / "eval" / "dev_qa.jsonl").read_text().splitlines() if line.strip()]
    items = [dict(item, id=f"{item['id']}-{i}") for i in range(12) for item in base]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    index = str(real_rag.index_dir)
    # The dev set twelve times over: with nothing remembered, every line takes its own time.
    settings = tmp_path / "rag.toml"
    settings.write_text("answer_memo = 0\n", encoding="utf-8")
    command = [sys.executable, "-m", "rag.cli", "--config", str(settings), "batch", str(questions), "--index", index,
               "--extractive"]
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    clean = tmp_path / "clean.jsonl"
    subprocess.run(command + ["-o", str(clean)], check=True, env=env, capture_output=True)
    killed = tmp_path / "killed.jsonl"
    process = subprocess.Popen(command + ["-o", str(killed)], env=env, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not killed.exists() or killed.read_text().count("\n") < 20):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written = killed.read_text().count("\n")
    assert 20 <= written < len(items), "the run should have been killed midway"
    subprocess.run(command + ["-o", str(killed), "--resume"], check=True, env=env, capture_output=True)
    key = lambda path: [(r["id"], r["answer"], r["abstained"]) for r in rows_of(path.read_text())]
    assert key(killed) == key(clean)


def test_cli_profile_reaches_the_answerer(fake_rag, monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr("rag.cli.open_rag", lambda index_dir, config: seen.append(config) or fake_rag)
    monkeypatch.chdir(tmp_path)  # no rag.toml here
    result = CliRunner().invoke(cli, ["--profile", "fast", "batch", "-", "-o", str(tmp_path / "a.jsonl")],
                                input="What does the waggle dance point to?\n")
    assert result.exit_code == 0, result.output
    assert seen[0].extractive_only
    result = CliRunner().invoke(cli, ["--profile", "fastest", "batch", "-"], input="Why?\n")
    assert result.exit_code != 0 and "fastest" in result.output
