"""A learned ranker: LightGBM trees over rag/answering/ranking.py's features, from a model file.

A model is made by training/ranker.py from questions written about other manuals (`make ranker`
writes it from the committed data; none ships until one measures better than the evidence score
on the fit sets, issue 31). Its scores are put on the evidence score's scale (the chance that a
unit answers) by a logistic calibration stored beside the trees, so that the later stages read
them as before.
"""

import json
import math
import threading
from pathlib import Path

import numpy as np

from rag.errors import ConfigError, MissingDependencyError


class LearnedRanker:
    """Scores candidate rows with a LightGBM booster loaded on first use.

    Args:
        path: the booster's text file; its card (same name, .json) holds the feature names and
            the calibration.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"ranker model not found: {self.path}")
        card = json.loads(self.path.with_suffix(".json").read_text())
        self.features = tuple(card["features"])
        self.slope, self.intercept = card["calibration"]
        self._booster = None
        self._loading = threading.Lock()

    def booster(self):
        with self._loading:
            if self._booster is None:
                try:
                    import lightgbm
                except ImportError as exc:
                    raise MissingDependencyError("the learned ranker needs LightGBM: pip install lightgbm") from exc
                self._booster = lightgbm.Booster(model_file=str(self.path))
        return self._booster

    def raw(self, rows: np.ndarray) -> np.ndarray:
        """The evidence score's logit plus the trees' correction (higher ranks first): the trees
        were trained to correct the evidence score's order, not to replace it."""
        if not len(rows):
            return np.zeros(0)
        rows = np.asarray(rows, dtype=float)
        chance = np.clip(rows[:, self.features.index("score")], 1e-4, 1 - 1e-4)
        return np.log(chance / (1 - chance)) + self.booster().predict(rows, num_threads=1)

    def chances(self, rows: np.ndarray) -> np.ndarray:
        """Calibrated chances in [0, 1] that each candidate answers."""
        return np.array([1.0 / (1.0 + math.exp(-(self.slope * r + self.intercept))) for r in self.raw(rows)])
