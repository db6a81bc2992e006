"""Items of different lengths (texts, prompts) grouped into batches that pad little."""

import numpy as np


def length_groups(lengths: list[int], budget: int, most: int | None = None) -> list[list[int]]:
    """Indices grouped by length, shortest first: each group's size times its longest length is
    at most `budget` (or it holds one index), and it holds at most `most` indices."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and (len(groups[-1]) + 1) * lengths[i] <= budget and (most is None or len(groups[-1]) < most):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def padded(encodings, rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The token ids of `rows` of tokenizer encodings, right-padded with 0 to the longest, and
    their attention mask (1 for a real token): both int64, one row per text."""
    width = max(len(encodings[i].ids) for i in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for r, i in enumerate(rows):
        ids[r, :len(encodings[i].ids)] = encodings[i].ids
        mask[r, :len(encodings[i].ids)] = 1
    return ids, mask
