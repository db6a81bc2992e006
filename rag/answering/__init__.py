"""The answering stages: retrieve -> evidence -> answerability -> generate -> verify -> compose.

    questions.py     what a question's form asks for (a date, a count, a name), in one place
    conversation.py  a follow-up question -> a question that stands alone
    evidence.py      retrieved chunks -> scored sentences and list items
    originals.py     a compilation's copy of a passage -> the page it was copied from
    abstention.py    whether the documents answer the question at all
    verification.py  whether a model's draft says only what the evidence says
    composition.py   the best evidence -> a quoted answer with citations
    answer.py        Answer and Citation, what a user gets back
    pipeline.py      Answerer: the stages in order, over one store

These modules know stores and models only by their protocols and data classes (rag/stores/base.py,
rag/stores/store.py, rag/models/base.py); tests/test_layout.py checks that none reaches an engine.
Nothing is imported here.
"""
