"""The decisions worth a second look: papers the classifier put just inside or just outside a theme.

The classifier is surest far from a theme's threshold. Near it, a single phrase decides, so the
author's reading should: :func:`review_queue` lists those decisions, closest first, for the author
to confirm or correct in ``bib/overrides.csv``. A decision the author has already overridden is
not listed again.
"""
from __future__ import annotations

import pandas as pd

from .classify import LEARNED_EVIDENCE
from .overrides import OVERRIDE_EVIDENCE

REVIEW_COLUMNS = ["theme", "decision", "reason", "score", "threshold", "title", "evidence"]

#: How far above the threshold a pass still counts as narrow, in signal-weight units.
MARGIN = 1.0


def review_queue(frame: pd.DataFrame, taxonomy, margin: float = MARGIN) -> pd.DataFrame:
    """The borderline decisions of a classified ``frame`` (as :func:`classify` or
    :func:`corpus_taxonomy` returns it), one row per (paper, theme), indexed like ``frame``.

    A decision is borderline when it is a *near miss* (some of the theme's signals found, score
    below the threshold, not in the theme), was *added by the learned model* (its evidence starts
    with ``learned``), or is a *narrow pass* (in the theme with a score below threshold + ``margin``).
    Overridden decisions (evidence ``override...``) are left out. Columns: ``REVIEW_COLUMNS``;
    rows sorted by distance from the threshold, then by theme in file order.
    """
    parts = []
    for order, theme in enumerate(taxonomy.themes):
        name = theme.name
        score = frame[f"{name}_score"].astype(float)
        decided = frame[name].astype(bool)
        evidence = frame[f"{name}_evidence"].fillna("").astype(str)
        overridden = evidence.str.startswith(OVERRIDE_EVIDENCE)
        learned = decided & evidence.str.startswith(LEARNED_EVIDENCE)
        near = ~decided & (score > 0)
        narrow = decided & ~learned & (score < theme.threshold + margin)
        pick = (near | learned | narrow) & ~overridden
        if not pick.any():
            continue
        reason = pd.Series("narrow pass", index=frame.index)
        reason[near] = "near miss"
        reason[learned] = "added by the learned model"
        part = pd.DataFrame({
            "theme": name, "decision": decided, "reason": reason, "score": score,
            "threshold": float(theme.threshold),
            "title": frame["title"] if "title" in frame.columns else "", "evidence": evidence,
        })[pick]
        part["_distance"] = (part["score"] - theme.threshold).abs()
        part["_order"] = order
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=REVIEW_COLUMNS, index=frame.index[:0])
    out = pd.concat(parts)
    out = out.sort_values(["_distance", "_order"], kind="stable")
    return out[REVIEW_COLUMNS]
