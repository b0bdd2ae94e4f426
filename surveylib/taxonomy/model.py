"""The taxonomy file (``bib/taxonomy.toml``): themes, sub-themes, facets and the signals that decide them.

Everything the classifier knows lives in this file, so a new theme is a new ``[themes.NAME]``
table and nothing else. Layout::

    [settings]
    title_weight = 2.0          # a signal found in the title counts this many times its weight
    background = ['^(?:recent|existing) ']   # sentences about prior work or the field ...
    foreground = ['\\bwe\\b']    # ... unless they say what the paper does ...
    background_weight = 0.5     # ... count their signals at this weight
    learned = "learned.json"    # optional: cue weights from `survey train` (see .learned)

    [themes.token_compression]
    label = "Token compression"
    description = "..."
    threshold = 3.0             # the paper is in the theme when its score reaches this
    fallback_subtheme = "other token reduction"
    signals = [
      { pattern = 'token (?:pruning|merging)', weight = 3 },
      { pattern = 'quantiz\\w*', weight = -1 },     # a negative weight is evidence against
      'visual tokens',                              # a bare pattern has weight 1
      { pattern = 'plug-and-play', weight = 0.5, needs = "other" },   # counts only with another
                                                    # positive signal of the theme (a weak cue)
    ]
    requires = ['\\b(?:visual|image|video|audio|multimodal)\\b']   # optional: needed to be in the theme
    [[themes.token_compression.subthemes]]
    name = "attention-based pruning"
    description = "..."
    signals = ['prun\\w*', ...]

    [facets.modalities]          # each value lists the patterns that mark one modality
    image = ['\\bimages?\\b', ...]
    [facets.contribution]        # each kind's signals; the highest score wins, else `default`
    default = "method"
    survey = [{ pattern = '\\bsurvey\\b', weight = 3 }]

Patterns are Python regular expressions matched case-insensitively on the lower-cased title and
abstract (write them in lower case). Signals are the vocabulary of the field, never words that
identify one particular paper.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SurveyError
from .learned import Learned, read_learned
from .prefilter import uppercase_literals

_SIGNAL_KEYS = {"pattern", "weight", "label", "needs"}
_NEEDS = ("other", "strong")
_THEME_KEYS = {"label", "description", "threshold", "fallback_subtheme", "signals", "subthemes", "requires"}
_SUBTHEME_KEYS = {"name", "label", "description", "signals"}


@dataclass(frozen=True)
class Signal:
    """One piece of evidence: a compiled pattern and how much a match counts (negative: against)."""

    pattern: str
    weight: float = 1.0
    regex: re.Pattern = field(default=None, compare=False, repr=False)
    # "other": a theme signal that counts only when another positive signal of its theme is also
    # found in the paper (a weak cue that is evidence only in company); "strong": only when a signal
    # of its theme without `needs` is found (weak cues are no company); None: always counts.
    needs: str | None = None


@dataclass(frozen=True)
class SubTheme:
    name: str
    description: str = ""
    signals: tuple[Signal, ...] = ()


@dataclass(frozen=True)
class Theme:
    """A theme of the survey: its signals, the score a paper needs, and its sub-themes."""

    name: str
    label: str
    description: str = ""
    threshold: float = 3.0
    signals: tuple[Signal, ...] = ()
    subthemes: tuple[SubTheme, ...] = ()
    fallback_subtheme: str = "other"
    # A paper can be in the theme only when one of these matches (e.g. a multimodal context for a
    # theme about multimodal models); empty: no condition.
    requires: tuple[Signal, ...] = ()


@dataclass(frozen=True)
class Facet:
    """A facet such as modalities (multi-valued) or contribution (one value, with a default)."""

    name: str
    values: dict[str, tuple[Signal, ...]]
    multi: bool = True
    default: str | list[str] | None = None


@dataclass(frozen=True)
class Taxonomy:
    """Themes in file order, the facets, and settings. Built by :func:`load_taxonomy`."""

    themes: tuple[Theme, ...]
    facets: dict[str, Facet] = field(default_factory=dict)
    title_weight: float = 2.0
    max_evidence: int = 4
    path: str = "<taxonomy>"
    # Sentences of an abstract that set the scene (prior work, the field's state) rather than say
    # what the paper does: a signal found only there counts background_weight times its weight.
    background: tuple[Signal, ...] = ()
    background_weight: float = 1.0
    foreground: tuple[Signal, ...] = ()  # a sentence matching one of these is never background
    # Cue weights learned from labelled papers (settings.learned; see .learned): a near miss of a
    # theme's rules is in it when the model's probability reaches its threshold.
    learned: Learned | None = None

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.themes]

    def theme(self, name: str) -> Theme:
        for t in self.themes:
            if t.name == name:
                return t
        raise SurveyError(f"unknown theme {name!r}", where=self.path,
                          hint=f"themes in the file: {', '.join(self.names)}")


def _compile(pattern: str, where: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise SurveyError(f"pattern {pattern!r} is not a valid regular expression ({exc})", where=where,
                          hint="fix the pattern (Python regular expression syntax; escape a literal '.' as '\\\\.')") \
            from None


def _valid(pattern: str) -> bool:
    try:
        re.compile(pattern)
        return True
    except re.error:
        return False


def _signals(raw, where: str) -> tuple[Signal, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise SurveyError("signals must be a list of patterns or {pattern, weight} tables", where=where)
    out = []
    for i, item in enumerate(raw):
        here = f"{where}[{i}]"
        if isinstance(item, str):
            pattern, weight, needs = item, 1.0, None
        elif isinstance(item, dict):
            unknown = set(item) - _SIGNAL_KEYS
            if unknown:
                raise SurveyError(f"unknown field(s) {sorted(unknown)} in a signal", where=here,
                                  hint="a signal has 'pattern' and optional 'weight' and 'needs'")
            pattern = item.get("pattern")
            weight = item.get("weight", 1.0)
            needs = item.get("needs")
            if needs is not None and needs not in _NEEDS:
                raise SurveyError(f"needs = {needs!r} is not one of {list(_NEEDS)}", where=here,
                                  hint='needs = "other": the signal counts only when another signal of its theme is found; '
                                       'needs = "strong": only when one that counts on its own is found')
            if not isinstance(pattern, str):
                raise SurveyError("signal has no 'pattern' string", where=here)
            if isinstance(weight, bool) or not isinstance(weight, (int, float)):
                raise SurveyError(f"weight {weight!r} is not a number", where=here)
        else:
            raise SurveyError(f"signal {item!r} is neither a pattern nor a table", where=here)
        if not pattern.strip():
            raise SurveyError("empty pattern", where=here)
        upper = uppercase_literals(pattern) if _valid(pattern) else []
        if upper:
            raise SurveyError(f"pattern {pattern!r} has upper-case letters {''.join(upper)!r}; it is matched on "
                              "lower-cased text, so they never match", where=here, hint="write patterns in lower case")
        out.append(Signal(pattern, float(weight), _compile(pattern, here), needs))
    return tuple(out)


def parse_taxonomy(data: dict, path: str = "<taxonomy>") -> Taxonomy:
    """A :class:`Taxonomy` from the parsed TOML ``data``; ``path`` names the file in errors."""
    themes_raw = data.get("themes")
    if not isinstance(themes_raw, dict) or not themes_raw:
        raise SurveyError("no themes: the file needs at least one [themes.NAME] table", where=path)
    unknown_top = set(data) - {"themes", "facets", "settings"}
    if unknown_top:
        raise SurveyError(f"unknown table(s) {sorted(unknown_top)}", where=path,
                          hint="the file has [settings], [themes.NAME] and [facets.NAME] tables")
    settings = data.get("settings", {})
    themes = []
    for name, raw in themes_raw.items():
        where = f"{path}: themes.{name}"
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise SurveyError(f"theme name {name!r} must be lower case letters, digits and _", where=where,
                              hint="the name becomes a column and a BibTeX keyword")
        if not isinstance(raw, dict):
            raise SurveyError("a theme must be a table", where=where)
        unknown = set(raw) - _THEME_KEYS
        if unknown:
            raise SurveyError(f"unknown field(s) {sorted(unknown)}", where=where,
                              hint=f"a theme has {', '.join(sorted(_THEME_KEYS))}")
        signals = _signals(raw.get("signals"), f"{where}.signals")
        if not any(s.weight > 0 for s in signals):
            raise SurveyError("theme has no signal with a positive weight, so nothing can ever be in it",
                              where=f"{where}.signals", hint="add patterns that mark papers of this theme")
        threshold = raw.get("threshold", 3.0)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or threshold <= 0:
            raise SurveyError(f"threshold {threshold!r} must be a positive number", where=f"{where}.threshold")
        subthemes = []
        for j, sub in enumerate(raw.get("subthemes", [])):
            here = f"{where}.subthemes[{j}]"
            if not isinstance(sub, dict) or not isinstance(sub.get("name"), str) or not sub["name"].strip():
                raise SurveyError("a sub-theme needs a 'name'", where=here)
            unknown = set(sub) - _SUBTHEME_KEYS
            if unknown:
                raise SurveyError(f"unknown field(s) {sorted(unknown)} in a sub-theme", where=here)
            subthemes.append(SubTheme(sub["name"].strip(), str(sub.get("description", "")),
                                      _signals(sub.get("signals"), f"{here}.signals")))
        themes.append(Theme(
            name=name,
            label=str(raw.get("label", name.replace("_", " ").capitalize())),
            description=str(raw.get("description", "")),
            threshold=float(threshold),
            signals=signals,
            subthemes=tuple(subthemes),
            fallback_subtheme=str(raw.get("fallback_subtheme", "other")),
            requires=_signals(raw.get("requires"), f"{where}.requires"),
        ))
    facets = {}
    for fname, raw in data.get("facets", {}).items():
        where = f"{path}: facets.{fname}"
        if not isinstance(raw, dict):
            raise SurveyError("a facet must be a table of value = [patterns]", where=where)
        default = raw.get("default")
        multi = bool(raw.get("multi", isinstance(default, list) or default is None))
        values = {v: _signals(sigs, f"{where}.{v}") for v, sigs in raw.items() if v not in ("default", "multi")}
        facets[fname] = Facet(fname, values, multi=multi, default=default)
    return Taxonomy(
        themes=tuple(themes),
        facets=facets,
        title_weight=float(settings.get("title_weight", 2.0)),
        max_evidence=int(settings.get("max_evidence", 4)),
        path=path,
        background=_signals(settings.get("background"), f"{path}: settings.background"),
        foreground=_signals(settings.get("foreground"), f"{path}: settings.foreground"),
        background_weight=_weight(settings.get("background_weight", 1.0), f"{path}: settings.background_weight"),
        learned=_learned(settings.get("learned"), path, float(settings.get("title_weight", 2.0)), themes),
    )


def _learned(value, path: str, title_weight: float, themes: list[Theme]) -> Learned | None:
    """The model ``settings.learned`` names (relative to the taxonomy file), for the file's themes."""
    if value is None:
        return None
    where = f"{path}: settings.learned"
    if not isinstance(value, str) or not value.strip():
        raise SurveyError(f"learned = {value!r} must be the path of a model file", where=where,
                          hint='e.g. learned = "learned.json", written by `survey train`')
    learned = read_learned(_beside(path, value), where=where)
    if learned.title_weight != title_weight:
        raise SurveyError(f"the learned model was trained with title_weight = {learned.title_weight}, the "
                          f"taxonomy has {title_weight}", where=where,
                          hint="retrain it: survey train LABELS.jsonl")
    names = {t.name for t in themes}
    # A theme the taxonomy no longer has is ignored; a theme the model lacks is decided by its rules.
    return Learned({k: v for k, v in learned.themes.items() if k in names}, learned.title_weight,
                   learned.papers, learned.source)


def _weight(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise SurveyError(f"{value!r} must be a number from 0 to 1", where=where)
    return float(value)


def load_taxonomy(path: str | Path, learned: bool = True) -> Taxonomy:
    """Read and check a taxonomy file; a bad file raises SurveyError naming the file and the problem.
    ``learned=False``: leave out the learned model the file names (its rules alone)."""
    data = _read(Path(path))
    if not learned:
        data.get("settings", {}).pop("learned", None)
    return parse_taxonomy(data, str(path))


def learned_path(path: str | Path) -> Path | None:
    """Where the taxonomy file at ``path`` keeps its learned model (settings.learned), or None."""
    value = _read(Path(path)).get("settings", {}).get("learned")
    return _beside(str(path), value) if isinstance(value, str) and value.strip() else None


def _beside(path: str, name: str) -> Path:
    """A file the taxonomy at ``path`` names: relative to the taxonomy's folder (to the working
    folder for a taxonomy parsed from data, whose ``path`` is a ``<label>``)."""
    return (Path(".") if path.startswith("<") else Path(path).parent) / name


def _read(path: Path) -> dict:
    if not path.is_file():
        raise SurveyError(f"taxonomy file {path} does not exist", where=str(path),
                          hint="set [taxonomy] file in survey.toml, or create the file (see bib/taxonomy.toml)")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SurveyError(f"not valid TOML: {exc}", where=str(path), hint="fix the syntax") from None
