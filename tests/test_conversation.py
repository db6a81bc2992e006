from rag.answering.conversation import follow_up, standalone_query


def test_follow_up_questions_carry_the_topic():
    history = ["What is the Nightjet network?"]
    assert standalone_query("and who runs it?", history) == "What is the Nightjet network? who runs it?"
    assert standalone_query("How much does a sleeper cabin cost?", history) == "How much does a sleeper cabin cost?"
    assert standalone_query("and who runs it?", []) == "and who runs it?"
    years = ["How much did Microsoft invest in OpenAI in 2019?"]
    assert standalone_query("and how much in 2023?", years) == "How much did Microsoft invest in OpenAI? how much in 2023?"


def test_follow_up_drops_only_a_leading_connective():
    assert follow_up("And who runs it?") == "who runs it?"
    assert follow_up("Android phones?") == "Android phones?"
