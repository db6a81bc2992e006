from rag.models.batching import length_groups


def test_texts_are_grouped_by_similar_length_within_the_budget():
    assert length_groups([300, 2000, 310, 290], 1000) == [[3, 0, 2], [1]]
    assert length_groups([100] * 5, 1000) == [[0, 1, 2, 3, 4]]
    assert length_groups([5000], 1000) == [[0]]
    assert length_groups([100] * 5, 1000, most=2) == [[0, 1], [2, 3], [4]]
