"""The learned part of the classifier: word and word-pair cues, weighted by logistic regression
on papers the author labelled.

The taxonomy's phrase signals catch the field's named vocabulary. A paper that says the same thing
in other words scores below the threshold, and rule tuning stops carrying over to unseen papers
well before every such paper is caught. A linear model over the words of labelled papers catches
some of them. It lives in a file beside the taxonomy (``learned = "learned.json"`` in its
[settings]), written by :func:`train` (``survey train LABELS.jsonl``), and is read like the
signals: each cue is a pattern searched in the lower-cased title and abstract (only in the rules'
near misses, after the signals have scored every paper).

A paper's learned probability for a theme is ``sigmoid(intercept + rule_weight x min(rule score /
threshold, RULE_CAP) + the weights of the cues found)``, a cue in the title counting
``title_weight`` times and one in the abstract once, as a signal does. A near miss of the rules
(some of the theme's signals found, score below the threshold) is in the theme when that
probability reaches the model's threshold: the model adds papers the rules narrowly miss (their
recall is what falls on unseen papers). It never removes a paper the rules put in, and never adds
one in which they found nothing, so a few common words alone cannot place a paper. A theme the
model does not cover is decided by its rules alone. Cues are words found in several labelled papers (``min_papers``) and in few of them
(``max_share``), so the model holds the field's vocabulary, never one paper's name.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import SurveyError

FORMAT = 1
RULE_CAP = 3.0  # a rule score beyond three times the threshold says nothing more
# Lower-case words of two or more characters starting with a letter: what a cue is made of.
_TOKEN = r"\b[a-z][a-z0-9]+\b"


@dataclass(frozen=True)
class Cue:
    """A word or word pair and its weight (log-odds) for one theme."""

    phrase: str  # found by cue_pattern(phrase)
    weight: float


@dataclass(frozen=True)
class LearnedTheme:
    """One theme's model: a paper is added when ``sigmoid(intercept + rule_weight x rules + found cue
    weights) >= threshold``, where ``rules`` is :func:`rule_feature` of the paper's rule score."""

    intercept: float
    threshold: float
    rule_weight: float
    cues: tuple[Cue, ...]


@dataclass(frozen=True)
class Learned:
    """The learned models of a taxonomy's themes, and the title weight their cues were trained with."""

    themes: dict[str, LearnedTheme]
    title_weight: float
    papers: int = 0  # how many labelled papers trained it
    source: str = ""  # the file it was read from


def cue_pattern(phrase: str) -> str:
    """The regular expression of a cue: its words, whole, with anything but letters between them."""
    return r"\b" + r"\W+".join(re.escape(w) for w in phrase.split()) + r"\b"


def rule_feature(score, threshold: float):
    """The rules' score as the model reads it: in thresholds, capped at :data:`RULE_CAP`."""
    return np.minimum(np.asarray(score, dtype=np.float64) / threshold, RULE_CAP)


def cue_matrix(titles: list[str], abstracts: list[str], phrases: list[str], title_weight: float) -> np.ndarray:
    """(papers x cues): ``title_weight`` if the cue is in the title, plus 1 if it is in the abstract,
    found exactly as the classifier finds them (:func:`.classify.cues_searched`)."""
    from .classify import _Text, cues_searched

    title, abstract = cues_searched([re.compile(cue_pattern(p)) for p in phrases],
                                    [_Text(t, a) for t, a in zip(titles, abstracts)])
    return title_weight * title + abstract


def train(labels: pd.DataFrame, taxonomy, themes: list[str] | None = None, *, cues_per_theme: int = 30,
          min_papers: int = 3, max_share: float = 0.05, c: float = 1.0, threshold: float = 0.8) -> Learned:
    """Learn, for each theme, how the rules' score and the words of a paper predict its label.

    ``labels``: a DataFrame with ``title``, ``abstract`` and a true/false column per theme (the
    format of ``survey eval``'s label files). ``taxonomy``: the :class:`.model.Taxonomy` whose
    rules score the papers (its own learned model, if any, is not used). ``themes``: the themes to
    learn (default: every theme of the taxonomy). For each theme: every word and adjacent word pair
    found in at least ``min_papers`` papers and at most a ``max_share`` of them (English stop words
    and the field's everyday words such as "multimodal" or "propose" left out: they cost a search
    in every abstract and tell little) is a candidate; an
    L2-regularised logistic regression (inverse strength ``c``, classes balanced) ranks them, the
    ``cues_per_theme`` with the largest weights are kept, and the model is fitted again on those,
    counted the way the classifier counts them (see :func:`cue_matrix`), with the rule score.
    Deterministic. Returns a :class:`Learned`; needs scikit-learn.
    """
    import dataclasses

    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
    from sklearn.linear_model import LogisticRegression

    from .classify import classify

    themes = list(taxonomy.names if themes is None else themes)
    missing = [t for t in themes if t not in labels.columns]
    if missing:
        raise SurveyError(f"the labelled papers have no column for theme(s) {missing}",
                          hint="each line needs a true/false field per theme (as for survey eval)")
    titles = labels["title"].fillna("").astype(str).tolist()
    abstracts = labels["abstract"].fillna("").astype(str).tolist() if "abstract" in labels else [""] * len(labels)
    rules = classify(pd.DataFrame({"title": titles, "abstract": abstracts}),
                     dataclasses.replace(taxonomy, learned=None), workers=1)
    # Pairs are formed before stop words are dropped (then any pair holding one goes), so that a
    # pair is two adjacent words, as its pattern finds it.
    vocabulary = CountVectorizer(binary=True, ngram_range=(1, 2), min_df=min_papers, max_df=max_share,
                                 token_pattern=_TOKEN, dtype=np.float64)
    try:
        words = vocabulary.fit_transform([f"{t} {a}" for t, a in zip(titles, abstracts)])
    except ValueError:  # no word in min_papers papers
        words = None
    names = vocabulary.get_feature_names_out() if words is not None else []
    keep = [j for j, name in enumerate(names) if ENGLISH_STOP_WORDS.isdisjoint(name.split())]
    if not keep:
        raise SurveyError(f"too few labelled papers: no word is found in at least {min_papers} of them and "
                          f"at most {max_share:.0%}", hint="label more papers, or raise the share (--max-share)")
    words, names = words[:, keep], names[keep]
    out = {}
    for name in themes:
        theme = taxonomy.theme(name)
        y = labels[name].map(_truth).to_numpy(dtype=bool)
        if y.sum() < min_papers or (~y).sum() < min_papers:
            raise SurveyError(f"theme {name!r} needs at least {min_papers} labelled papers in it and "
                              f"{min_papers} out of it (has {int(y.sum())} and {int((~y).sum())})",
                              hint="label more papers, or train the other themes only")
        ranking = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(words, y)
        # Ties broken by the word, so that the kept cues do not depend on the sort's whims.
        order = sorted(range(len(names)), key=lambda j: (-abs(ranking.coef_[0][j]), names[j]))
        phrases = [str(names[j]) for j in order[:cues_per_theme]]
        counted = np.c_[rule_feature(rules[f"{name}_score"].to_numpy(), theme.threshold),
                        cue_matrix(titles, abstracts, phrases, taxonomy.title_weight)]
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(counted, y)
        weights = [round(float(w), 4) for w in model.coef_[0]]
        cues = tuple(Cue(p, w) for p, w in zip(phrases, weights[1:]) if w)
        out[name] = LearnedTheme(round(float(model.intercept_[0]), 4), threshold, weights[0], cues)
    return Learned(out, float(taxonomy.title_weight), papers=len(labels))


def _truth(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return bool(value) if value == value else False  # NaN: not labelled in the theme


def probabilities(z: np.ndarray) -> np.ndarray:
    """The logistic function of the log-odds ``z``."""
    return 1.0 / (1.0 + np.exp(-z))


def to_dict(learned: Learned) -> dict:
    return {
        "format": FORMAT,
        "about": "Written by `survey train`: cue weights learned from labelled papers (see "
                 "surveylib.taxonomy.learned). Retrain rather than edit; your corrections to single "
                 "papers go in bib/overrides.csv.",
        "papers": learned.papers,
        "title_weight": learned.title_weight,
        "themes": {name: {"intercept": m.intercept, "threshold": m.threshold, "rule_weight": m.rule_weight,
                          "cues": [[c.phrase, c.weight] for c in m.cues]}
                   for name, m in learned.themes.items()},
    }


def write_learned(learned: Learned, path: str | Path) -> Path:
    """Write the model as JSON (one cue per line, so that a retrain diffs readably), atomically."""
    from ..io import atomic_write_text

    data = to_dict(learned)
    text = json.dumps(data, indent=1, ensure_ascii=False)
    # One cue per line rather than json's one number per line.
    text = re.sub(r'\[\n\s+("(?:[^"\\]|\\.)*"),\n\s+(-?[0-9.e+-]+)\n\s+\]', r"[\1, \2]", text)
    path = Path(path)
    atomic_write_text(path, text + "\n")
    return path


def read_learned(path: str | Path, where: str = "") -> Learned:
    """A :class:`Learned` from its JSON file; a bad file raises SurveyError naming it and what to do."""
    path = Path(path)
    hint = "write it with `survey train LABELS.jsonl`, or remove the `learned` setting of the taxonomy"
    if not path.is_file():
        raise SurveyError(f"learned model {path} does not exist", where=where or str(path), hint=hint)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SurveyError(f"not valid JSON: {exc}", where=str(path), hint=hint) from None
    try:
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
        themes = {}
        for name, m in data["themes"].items():
            cues = tuple(Cue(str(p), float(w)) for p, w in m["cues"])
            if any(not re.fullmatch(r"[a-z][a-z0-9]+(?: [a-z][a-z0-9]+)*", c.phrase) for c in cues):
                raise ValueError(f"theme {name}: a cue must be lower-case words")
            threshold = float(m["threshold"])
            if not 0 < threshold < 1:
                raise ValueError(f"theme {name}: threshold {threshold} must be between 0 and 1")
            themes[name] = LearnedTheme(float(m["intercept"]), threshold, float(m["rule_weight"]), cues)
        return Learned(themes, float(data["title_weight"]), int(data.get("papers", 0)), str(path))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise SurveyError(f"not a learned model file: {exc}", where=str(path), hint=hint) from None
