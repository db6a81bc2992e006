"""Conversation: a follow-up question made to stand alone for retrieval.

"and how much in 2023?" after "How much did Microsoft invest in OpenAI in 2019?" is searched as
"How much did Microsoft invest in OpenAI? how much in 2023?": the topic comes from the earlier
question, the year from the new one.
"""

import re

from rag.lexical import terms

CONNECTIVE = re.compile(r"^\s*(?:and|but|also|so|then|ok|okay)\b[\s,]*", re.IGNORECASE)
LEANS_ON_CONTEXT = re.compile(r"^(?:what about|how about|and|but|also|so|then|why|how come)\b|\b(?:it|its|they|them|their|that|this|those|these|he|she|his|her)\b", re.IGNORECASE)
NUMBER_PHRASE = re.compile(r"\s*\b(?:in|on|by|since|during|for|from|until|of)?\s*\d[\d,.]*\b", re.IGNORECASE)


def follow_up(question: str) -> str:
    """A follow-up without its leading connective ("and how much in 2023?" -> "how much in 2023?")."""
    return CONNECTIVE.sub("", question).strip() or question


def standalone_query(question: str, history: list[str]) -> str:
    """The question as it stands alone, for a question that may lean on the previous one.

    A follow-up ("and how much in 2023?", "what about Google?") is short, starts with a
    connective or refers back with a pronoun; the previous question is carried along so
    retrieval knows the topic, minus any numbers the follow-up replaces with its own.
    """
    if not history or not (len(terms(question)) <= 2 or LEANS_ON_CONTEXT.search(question)):
        return question
    previous = history[-1].strip()
    if re.search(r"\d", question):
        previous = " ".join(NUMBER_PHRASE.sub("", previous).split())
    return f"{previous} {follow_up(question)}"
