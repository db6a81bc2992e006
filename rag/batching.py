"""Items of different lengths (texts, prompts) grouped into batches that pad little."""


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
