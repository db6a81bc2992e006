"""Hybrid retrieval helpers."""

import numpy as np

from rag.stores.folder import top


def test_top_scores_match_a_full_stable_sort():
    rng = np.random.default_rng(0)
    for scores in (rng.integers(0, 4, 500).astype(np.float32), rng.random(500).astype(np.float32), np.zeros(30, np.float32)):
        for depth in (1, 5, 24, 29, 30, 600):
            assert top(scores, depth).tolist() == np.argsort(-scores, kind="stable")[:depth].tolist()
