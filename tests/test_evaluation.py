from rag.answering.answer import Answer, Citation
from rag.evaluation import EvalReport, judge


def answer(text: str, source: str = "001_a.txt", abstained: bool = False) -> Answer:
    citations = () if abstained else (Citation(1, source, 0, 5, "quote", 0.9),)
    return Answer("q", text, citations, abstained, "abstained" if abstained else "extractive")


def test_right_answers_within_30_words_are_counted_apart():
    item = {"question": "q", "answers": ["$1 billion"], "docs": ["001"]}
    short = answer("Microsoft invested $1 billion in 2019 [1].")
    long = answer("In 2019, " + "after many talks " * 10 + "Microsoft invested $1 billion [1].")
    wrong = answer("Microsoft invested a lot [1].")
    unanswerable = {"question": "q", "unanswerable": True}
    report = EvalReport([judge(item, short), judge(item, long), judge(item, wrong),
                         judge(unanswerable, answer("The documents do not say.", abstained=True))])
    figures = report.figures()
    assert figures["answered_right_and_cited"] == 2
    assert figures["right_within_30_words"] == 1
    assert figures["abstained_right"] == 1
