"""The classifier: weighted phrase signals from the taxonomy file, with the evidence that decided.

For each theme a paper's score is the sum of the weights of the theme's signals found in its
abstract, plus ``title_weight`` times the weights of those found in its title (each signal counts
once per field). The paper is in the theme when the score reaches the theme's threshold. The
sub-theme is the one whose signals match most (the theme's fallback when none does). Facets and
facts (method, code link, numeric claims) are read the same way, from spans of the text.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..errors import SurveyError
from .facts import extract_facts
from .model import Signal, Taxonomy, load_taxonomy

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
MAX_SENTENCE = 220


class _Text:
    """A paper's title and abstract, lower-cased once, with sentence bounds for evidence."""

    __slots__ = ("title", "abstract", "ltitle", "labstract", "_bounds")

    def __init__(self, title: str, abstract: str):
        self.title, self.abstract = title, abstract
        self.ltitle, self.labstract = _lower(title), _lower(abstract)
        self._bounds = None

    def sentence(self, pos: int) -> str:
        """The sentence of the abstract holding character ``pos``, shortened around it if long."""
        if self._bounds is None:
            self._bounds = [0] + [m.end() for m in _SENTENCE_END.finditer(self.abstract)] + [len(self.abstract)]
        start = max(b for b in self._bounds if b <= pos)
        end = min((b for b in self._bounds if b > pos), default=len(self.abstract))
        text = self.abstract[start:end].strip()
        if len(text) > MAX_SENTENCE:
            lo = max(0, pos - start - MAX_SENTENCE // 2)
            text = ("…" if lo else "") + text[lo:lo + MAX_SENTENCE].strip() + "…"
        return " ".join(text.split())


def _lower(text: str) -> str:
    low = text.lower()
    # Keep offsets valid: a few characters change length when lower-cased (e.g. 'İ').
    return low if len(low) == len(text) else "".join(c.lower()[:1] or c for c in text)


def _hits(signals: tuple[Signal, ...], text: _Text, title_weight: float):
    """(score, hits): hits are (contribution, signal, match, in_title) for every matching signal."""
    score, hits = 0.0, []
    for sig in signals:
        m = sig.regex.search(text.ltitle) if text.ltitle else None
        if m:
            score += sig.weight * title_weight
            hits.append((sig.weight * title_weight, sig, m, True))
        m = sig.regex.search(text.labstract) if text.labstract else None
        if m:
            score += sig.weight
            hits.append((sig.weight, sig, m, False))
    return score, hits


def _evidence(hits, text: _Text, limit: int) -> str:
    """The strongest hits, positive first, as ``+3 "phrase" (title)`` or ``+1 "phrase": sentence``."""
    ordered = sorted(hits, key=lambda h: (-h[0], h[3] is False))
    parts = []
    for contribution, _sig, m, in_title in ordered[:limit]:
        source = text.title if in_title else text.abstract
        phrase = source[m.start():m.end()]
        where = "(title)" if in_title else f": {text.sentence(m.start())}"
        parts.append(f'{contribution:+g} "{phrase}" {where}'.replace(" :", ":"))
    return " | ".join(parts)


def _facet(facet, text: _Text, title_weight: float):
    scores = {}
    for value, signals in facet.values.items():
        score, _ = _hits(signals, text, title_weight)
        if score > 0:
            scores[value] = score
    if facet.multi:
        found = [v for v in facet.values if v in scores]
        if found:
            return found
        return list(facet.default) if isinstance(facet.default, list) else ([facet.default] if facet.default else [])
    if scores:
        return max(scores, key=lambda v: (scores[v], -list(facet.values).index(v)))
    return facet.default or ""


def classify_one(title: str, abstract: str, taxonomy: Taxonomy) -> dict:
    """The classification of one paper as a flat dict (the columns :func:`classify` adds)."""
    text = _Text(title or "", abstract or "")
    tw = taxonomy.title_weight
    row: dict = {}
    for theme in taxonomy.themes:
        score, hits = _hits(theme.signals, text, tw)
        positive = score >= theme.threshold
        row[theme.name] = positive
        row[f"{theme.name}_score"] = round(score, 3)
        sub = ""
        if positive:
            best, best_score, sub_hits = theme.fallback_subtheme, 0.0, []
            for st in theme.subthemes:
                s, h = _hits(st.signals, text, tw)
                if s > best_score:
                    best, best_score, sub_hits = st.name, s, h
            sub = best
            row[f"{theme.name}_evidence"] = _evidence(hits, text, taxonomy.max_evidence)
        else:
            # Near misses keep their evidence too, so an author can see why a paper was left out.
            row[f"{theme.name}_evidence"] = _evidence(hits, text, taxonomy.max_evidence) if score > 0 else ""
        row[f"{theme.name}_subtheme"] = sub
    for name, facet in taxonomy.facets.items():
        row[name] = _facet(facet, text, tw)
    row.update(extract_facts(text.title, text.abstract))
    return row


def theme_columns(taxonomy: Taxonomy) -> list[str]:
    cols = []
    for t in taxonomy.themes:
        cols += [t.name, f"{t.name}_score", f"{t.name}_subtheme", f"{t.name}_evidence"]
    return cols


FACT_COLUMNS = ["method", "method_source", "code_url", "claims", "claimed_reduction", "claimed_speedup"]


def classify(papers: pd.DataFrame, taxonomy: Taxonomy | str | Path) -> pd.DataFrame:
    """Classify papers into the taxonomy's themes.

    ``papers``: a DataFrame with ``title`` and ``abstract`` (missing/NaN abstracts count as empty).
    ``taxonomy``: a :class:`Taxonomy` or the path of a taxonomy file.
    Returns a DataFrame with the same index and input columns, plus for each theme T: ``T`` (bool),
    ``T_score``, ``T_subtheme`` (set whenever T is true), ``T_evidence`` (the phrases and sentences
    that decided it); the facets (e.g. ``modalities`` list, ``contribution``); and the facts
    ``method``, ``method_source``, ``code_url``, ``claims`` (list of {kind, text, start, end}),
    ``claimed_reduction``, ``claimed_speedup``. Overrides are not applied here.
    """
    if not isinstance(taxonomy, Taxonomy):
        taxonomy = load_taxonomy(taxonomy)
    if "title" not in papers.columns:
        raise SurveyError("papers need a 'title' column", hint="pass a DataFrame with title and abstract")
    titles = papers["title"].fillna("").astype(str).tolist()
    abstracts = (papers["abstract"].fillna("").astype(str).tolist() if "abstract" in papers.columns
                 else [""] * len(papers))
    rows = [classify_one(t, a, taxonomy) for t, a in zip(titles, abstracts)]
    columns = theme_columns(taxonomy) + list(taxonomy.facets) + FACT_COLUMNS
    added = pd.DataFrame(rows, index=papers.index, columns=columns)
    if not rows:
        for t in taxonomy.themes:
            added[t.name] = added[t.name].astype(bool)
    keep = papers.drop(columns=[c for c in columns if c in papers.columns])
    return pd.concat([keep, added], axis=1)
