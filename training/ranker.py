"""Learned rankers over rag's candidates, judged on the fit sets leave-one-set-out.

Reads the groups of training/candidates.py (synthetic questions and fit sets) and prints, for
each fit set, how often the best candidate holds the answer (top-1), one of the best three does
(top-3) and any does, under:
- evidence: rag's evidence score as it ships (the order of the candidates);
- refit: a logistic regression over evidence.py's own features, fitted again;
- lambdarank: LightGBM's lambdarank over rag/answering/ranking.py's FEATURES.
Models that learn from fit sets never see the set they are judged on: each fit set is scored
by a model fitted on the synthetic questions and the other fit sets ("+fit"), or on the
synthetic questions alone ("synthetic").

    .venv/bin/python training/ranker.py                     # the table
    .venv/bin/python training/ranker.py --save rag/models/ranker/lambdarank.txt
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answering.ranking import FEATURES  # noqa: E402
from training.candidates import Group, load  # noqa: E402

FIT_SETS = ("fresh_fit", "sqlite_fit", "zsh_fit", "nut_fit")
BASE = len(("dense", "coverage", "bm25", "chunk", "mismatch"))
# Small trees, few rounds: the trees start from the evidence score's order (init_score) and learn
# corrections to it, rather than a new order from nothing (which, from a few hundred questions,
# ranked worse than the evidence score on every fit set).
PARAMS = {
    "objective": "lambdarank", "learning_rate": 0.05, "num_leaves": 7, "min_data_in_leaf": 50,
    "feature_fraction": 0.8, "lambdarank_truncation_level": 10, "verbose": -1, "seed": 7,
}
ROUNDS = 20


def trainable(groups: list[Group]) -> list[Group]:
    """Groups with a positive and a negative, left-out candidates dropped."""
    kept = []
    for g in groups:
        keep = g.labels >= 0
        labels = g.labels[keep]
        if labels.max(initial=0) > 0 and labels.min(initial=1) == 0:
            kept.append(Group(g.question, g.origin, g.features[keep], labels, [t for t, k in zip(g.texts, keep) if k],
                              g.answerability, g.answerable, g.extra))
    return kept


class Residual:
    """The evidence score's logit plus the trees' correction (what rag/models/ranker.py computes)."""

    def __init__(self, booster):
        self.booster = booster

    def __call__(self, features: np.ndarray) -> np.ndarray:
        return prior(features) + self.booster.predict(features)


def prior(features: np.ndarray) -> np.ndarray:
    """The evidence score as a logit: where the trees start."""
    p = np.clip(features[:, FEATURES.index("score")], 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def fit_lambdarank(groups: list[Group], rounds: int = ROUNDS, **params) -> Residual:
    import lightgbm

    groups = trainable(groups)
    x = np.concatenate([g.features for g in groups])
    y = np.concatenate([g.labels for g in groups]).astype(int)
    # Columns past FEATURES are signals tried on top of them (training/biencoder.py).
    names = list(FEATURES) + [f"extra{i}" for i in range(x.shape[1] - len(FEATURES))]
    data = lightgbm.Dataset(x, y, group=[len(g.labels) for g in groups], feature_name=names, init_score=prior(x),
                            categorical_feature=["question_kind"])
    return Residual(lightgbm.train({**PARAMS, **params}, data, num_boost_round=rounds))


def save(model: Residual, groups: list[Group], path: Path, card: dict):
    """Writes the trees and their card: the features, and a logistic calibration of the model's
    scores on the groups (so that rag reads them as chances that a unit answers)."""
    import json

    from sklearn.linear_model import LogisticRegression

    groups = trainable(groups)
    raw = np.concatenate([model(g.features) for g in groups])
    labels = np.concatenate([g.labels for g in groups])
    calibration = LogisticRegression().fit(raw.reshape(-1, 1), labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.booster.save_model(str(path))
    card = {**card, "features": list(FEATURES),
            "calibration": [float(calibration.coef_[0][0]), float(calibration.intercept_[0])]}
    path.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n")


def fit_refit(groups: list[Group]):
    """A logistic regression over evidence.py's four fitted features, mismatched units left out
    (as benchmarks/fit_evidence.py did)."""
    from sklearn.linear_model import LogisticRegression

    groups = trainable(groups)
    x = np.concatenate([g.features[:, :BASE] for g in groups])
    y = np.concatenate([g.labels for g in groups])
    matched = x[:, BASE - 1] == 0
    model = LogisticRegression(max_iter=1000).fit(x[matched, :BASE - 1], y[matched])
    return lambda f: model.predict_proba(f[:, :BASE - 1])[:, 1] * np.where(f[:, BASE - 1] > 0, 0.25, 1.0)


def standing(groups: list[Group], scorer) -> tuple[int, int, int, int]:
    """(answerable, top-1, top-3, any) over the answerable groups."""
    total = top1 = top3 = found = 0
    for g in groups:
        if not g.answerable:
            continue
        total += 1
        if not len(g.labels):
            continue
        order = np.argsort(-scorer(g.features), kind="stable")
        labels = g.labels[order] > 0
        top1 += bool(labels[0])
        top3 += bool(labels[:3].any())
        found += bool(labels.any())
    return total, top1, top3, found


def table(synthetic: list[Group], fit: dict[str, list[Group]]):
    rows = {"evidence (as shipped)": {name: standing(groups, lambda f: -np.arange(len(f))) for name, groups in fit.items()}}
    models = {}
    if synthetic:
        models["refit, synthetic"] = fit_refit(synthetic)
        models["lambdarank, synthetic"] = fit_lambdarank(synthetic)
        for name, scorer in models.items():
            rows[name] = {n: standing(g, scorer) for n, g in fit.items()}
    for label, fitter, base in (("refit, synthetic+fit", fit_refit, synthetic),
                                ("lambdarank, fit only", fit_lambdarank, []),
                                ("lambdarank, synthetic+fit", fit_lambdarank, synthetic)):
        if not base and not fit or fitter is fit_refit and not synthetic:
            continue
        rows[label] = {}
        for name, groups in fit.items():
            others = [g for n, gs in fit.items() if n != name for g in gs]
            rows[label][name] = standing(groups, fitter(base + others))
    print_rows(rows, list(fit))


def print_rows(rows: dict[str, dict[str, tuple]], names: list[str]):
    """A Markdown table: a row per ranker, a column per fit set and their sum."""
    print("| ranker | " + " | ".join(names) + " | all (top-1 / top-3 / any) |")
    print("| --- |" + " --- |" * (len(names) + 1))
    for label, cells in rows.items():
        total = np.sum([cells[n] for n in names], axis=0)
        print(f"| {label} | " + " | ".join(f"{c[1]} / {c[2]} / {c[3]} of {c[0]}" for c in (cells[n] for n in names))
              + f" | {total[1]} / {total[2]} / {total[3]} of {total[0]} |")


def with_feature(group: Group, column: np.ndarray) -> Group:
    """The group with one more feature per candidate (a learned signal tried on top of FEATURES)."""
    features = np.column_stack([group.features, column]) if len(group.texts) else group.features
    return Group(group.question, group.origin, features, group.labels, group.texts, group.answerability,
                 group.answerable, group.extra)


def with_signal(signal, fit_sets: list[str], fit_only: bool) -> tuple[list[Group], dict[str, list[Group]]]:
    """The synthetic and fit groups with signal(group) -> one score per candidate added as a
    feature. A model trained on the synthetic questions scores them in-sample, so `fit_only`
    leaves them out and the feature is judged on the fit sets alone (leave-one-set-out)."""
    def added(groups: list[Group]) -> list[Group]:
        return [with_feature(g, signal(g)) for g in groups]

    synthetic = [] if fit_only else added([g for g in load("synthetic-") if g.answerable])
    fit = {name: added(load(f"fit-{name}")) for name in fit_sets}
    return synthetic, {n: g for n, g in fit.items() if g}


def judge_signal(signal, fit_sets: list[str], fit_only: bool):
    """Prints the table with the signal as one more feature (with_signal)."""
    table(*with_signal(signal, fit_sets, fit_only))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fit-sets", nargs="*", default=list(FIT_SETS))
    parser.add_argument("--save", help="fit on everything (synthetic and fit sets) and save the booster here")
    args = parser.parse_args()
    synthetic = load("synthetic-")
    fit = {name: load(f"fit-{name}") for name in args.fit_sets}
    fit = {name: groups for name, groups in fit.items() if groups}
    answerable = [g for g in synthetic if g.answerable]
    print(f"{len(answerable)} synthetic questions ({len(synthetic) - len(answerable)} unanswerable), "
          f"{len({g.origin for g in synthetic})} packages; fit sets: "
          + ", ".join(f"{n} {len(g)}" for n, g in fit.items()))
    table(answerable, fit)
    if args.save:
        everything = answerable + [g for gs in fit.values() for g in gs]
        model = fit_lambdarank(everything)
        card = {"synthetic_questions": len(answerable), "fit_sets": {n: len(g) for n, g in fit.items()},
                "params": PARAMS, "rounds": ROUNDS}
        save(model, everything, Path(args.save), card)
        print("saved", args.save)


if __name__ == "__main__":
    main()
