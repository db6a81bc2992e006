from rag.generation import lookup


def test_lookup_guesses_what_followed_the_last_tokens_in_the_prompt():
    assert lookup([5, 6, 7, 8, 9, 1, 6, 7], 3, 2) == [8, 9]  # "6 7" was followed by "8 9"
    assert lookup([5, 6, 7, 8, 9, 7], 3, 8) == [8, 9, 7]
    assert lookup([1, 2, 3], 3, 4) == []
