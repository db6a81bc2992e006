from rag.batching import length_groups
from rag.generation import lookup


def test_lookup_guesses_what_followed_the_last_tokens_in_the_prompt():
    assert lookup([5, 6, 7, 8, 9, 1, 6, 7], 3, 2) == [8, 9]  # "6 7" was followed by "8 9"
    assert lookup([5, 6, 7, 8, 9, 7], 3, 8) == [8, 9, 7]
    assert lookup([1, 2, 3], 3, 4) == []


def test_prompts_are_decoded_in_groups_of_similar_length_within_the_budget():
    assert length_groups([300, 2000, 310, 290], 1000) == [[3, 0, 2], [1]]
    assert length_groups([100] * 5, 1000) == [[0, 1, 2, 3, 4]]
    assert length_groups([5000], 1000) == [[0]]
    assert length_groups([100] * 5, 1000, most=2) == [[0, 1], [2, 3], [4]]
