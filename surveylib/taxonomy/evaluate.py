"""Measuring the classifier against labelled papers (JSON Lines like ``dev_labels.jsonl``).

Each label line: ``{"title", "abstract", "<theme>": true/false, ..., "modalities": [...],
"contribution": "..."}``. :func:`evaluate` compares predictions (from :func:`classify`) with the
labels theme by theme: precision, recall, F1, their macro average, and every misclassified title
with the evidence the classifier gave.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from ..corpus import normalize_title
from ..errors import SurveyError
from ..io import read_json_lines


def read_labels(path: str | Path) -> pd.DataFrame:
    """Labelled papers as a DataFrame (one row per line, columns as in the file).

    Every line must be a JSON object with a title; a bad line is an error naming it."""
    path = Path(path)
    rows = []
    for n, record in read_json_lines(path, "label file"):
        if not str(record.get("title") or "").strip():
            raise SurveyError("a label line must be a JSON object with a title", where=f"{path}:{n}")
        record.setdefault("abstract", "")
        rows.append(record)
    if not rows:
        raise SurveyError("no labelled papers in the file", where=str(path))
    return pd.DataFrame(rows)


@dataclass
class ThemeScore:
    theme: str
    tp: int
    fp: int
    fn: int
    tn: int
    precision: float
    recall: float
    f1: float

    @property
    def support(self) -> int:
        return self.tp + self.fn


@dataclass
class EvalReport:
    """Per-theme scores, their macro average, facet agreement, and the misclassified papers."""

    papers: int
    themes: list[ThemeScore]
    macro_f1: float
    errors: list[dict] = field(default_factory=list)
    facets: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        for t in d["themes"]:
            t["support"] = t["tp"] + t["fn"]
        return d

    def to_frame(self) -> pd.DataFrame:
        """One row per theme: precision, recall, F1 and the counts."""
        return pd.DataFrame([{**asdict(t), "support": t.support} for t in self.themes]).set_index("theme")

    def __str__(self) -> str:
        lines = [f"{self.papers} labelled papers",
                 f"{'theme':<24}{'P':>7}{'R':>7}{'F1':>7}{'TP':>5}{'FP':>5}{'FN':>5}"]
        for t in self.themes:
            lines.append(f"{t.theme:<24}{t.precision:>7.3f}{t.recall:>7.3f}{t.f1:>7.3f}{t.tp:>5}{t.fp:>5}{t.fn:>5}")
        lines.append(f"macro-F1 {self.macro_f1:.3f}")
        for name, value in self.facets.items():
            lines.append(f"{name}: {value:.3f}")
        if self.errors:
            lines.append(f"\nmisclassified ({len(self.errors)}):")
            for e in self.errors:
                lines.append(f"- [{e['theme']}] {e['kind']} (score {e['score']:g}): {e['title']}")
                if e["evidence"]:
                    lines.append(f"    evidence: {e['evidence']}")
        return "\n".join(lines)


def _ratio(a: int, b: int, empty: float) -> float:
    return a / b if b else empty


def score_theme(theme: str, predicted: list[bool], actual: list[bool]) -> ThemeScore:
    """Precision, recall and F1 of one theme. With nothing to find and nothing found, all are 1;
    with no prediction made, precision is 0 (and so on: an undefined ratio never flatters)."""
    tp = sum(p and a for p, a in zip(predicted, actual))
    fp = sum(p and not a for p, a in zip(predicted, actual))
    fn = sum(a and not p for p, a in zip(predicted, actual))
    tn = len(actual) - tp - fp - fn
    nothing = tp + fp + fn == 0
    precision = _ratio(tp, tp + fp, 1.0 if nothing else 0.0)
    recall = _ratio(tp, tp + fn, 1.0 if nothing else 0.0)
    f1 = 1.0 if nothing else _ratio(2 * tp, 2 * tp + fp + fn, 0.0)
    return ThemeScore(theme, tp, fp, fn, tn, precision, recall, f1)


def _align(predictions: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """The predictions row of each label row: by index when they share it, else by normalised title."""
    if len(predictions) == len(labels) and predictions.index.equals(labels.index):
        return predictions
    by_title = {normalize_title(t): i for i, t in zip(predictions.index, predictions["title"])}
    order = []
    for t in labels["title"]:
        i = by_title.get(normalize_title(t))
        if i is None:
            raise SurveyError(f"no prediction for the labelled paper {t!r}",
                              hint="classify the labelled papers themselves (classify(read_labels(path)))")
        order.append(i)
    return predictions.loc[order].set_axis(labels.index)


def evaluate(predictions: pd.DataFrame, labels: pd.DataFrame, themes: list[str] | None = None) -> EvalReport:
    """Compare ``predictions`` (a :func:`classify` result) with ``labels`` (:func:`read_labels`).

    ``themes``: the themes to score (default: every boolean label column that has a prediction).
    Returns an :class:`EvalReport`; macro-F1 is the unweighted mean of the themes' F1.
    """
    pred = _align(predictions, labels)
    if themes is None:
        themes = [c for c in labels.columns if c in pred.columns and f"{c}_score" in pred.columns]
    if not themes:
        raise SurveyError("the labels have no column for any theme the classifier predicts",
                          hint="label columns must be named like the themes in the taxonomy file")
    scores, errors = [], []
    for theme in themes:
        actual = [bool(v) for v in labels[theme].fillna(False)]
        predicted = [bool(v) for v in pred[theme]]
        scores.append(score_theme(theme, predicted, actual))
        for i, (p, a) in enumerate(zip(predicted, actual)):
            if p != a:
                row = pred.iloc[i]
                errors.append({"theme": theme, "kind": "false positive" if p else "false negative",
                               "title": str(labels["title"].iloc[i]),
                               "score": float(row.get(f"{theme}_score", 0.0)),
                               "evidence": str(row.get(f"{theme}_evidence", "") or "")})
    macro = sum(s.f1 for s in scores) / len(scores)
    facets = {}
    if "contribution" in labels.columns and "contribution" in pred.columns:
        facets["contribution accuracy"] = round(float((labels["contribution"] == pred["contribution"]).mean()), 4)
    if "modalities" in labels.columns and "modalities" in pred.columns:
        jac = []
        for a, p in zip(labels["modalities"], pred["modalities"]):
            a = set(a) if isinstance(a, list) else set()
            p = set(p) if isinstance(p, list) else set()
            jac.append(len(a & p) / len(a | p) if a | p else 1.0)
        facets["modalities mean Jaccard"] = round(sum(jac) / len(jac), 4)
    return EvalReport(papers=len(labels), themes=scores, macro_f1=macro, errors=errors, facets=facets)
