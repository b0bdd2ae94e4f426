"""The classifier: weighted phrase signals from the taxonomy file, with the evidence that decided.

For each theme a paper's score is the sum of the weights of the theme's signals found in its
abstract, plus ``title_weight`` times the weights of those found in its title (each signal counts
once per field). The paper is in the theme when the score reaches the theme's threshold. The
sub-theme is the one whose signals match most (the theme's fallback when none does). When the
taxonomy names a learned model (see :mod:`.learned`), a near miss is also in the theme when the
model's probability reaches its threshold; the evidence then says so. Facets and
facts (method, code link, numeric claims) are read the same way, from spans of the text.
"""
from __future__ import annotations

import bisect
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import SurveyError
from ..workers import fork_map, paused_gc, split as _split, workers as _workers
from .learned import cue_pattern, probabilities, rule_feature
from .facts import CLAIM_PATTERNS, _claim_candidates, extract_facts
from .model import Signal, Taxonomy, load_taxonomy
from .prefilter import Batch, Prefilter
from . import scan

# A sentence ends at . ! or ? and the spaces after it (no look-behind: three times faster).
_SENTENCE_END = re.compile(r"[.!?]\s+(?=[A-Z0-9\"'(\[])")
MAX_SENTENCE = 220
#: How the evidence of a paper the learned model put in a theme starts (build/review.csv lists those).
LEARNED_EVIDENCE = "learned"


class _Text:
    """A paper's title and abstract, lower-cased once, with sentence bounds for evidence."""

    __slots__ = ("title", "abstract", "ltitle", "labstract", "_bounds", "_background")

    def __init__(self, title: str, abstract: str):
        self.title, self.abstract = title, abstract
        self.ltitle, self.labstract = _lower(title), _lower(abstract)
        self._bounds = None
        self._background: dict[int, bool] = {}  # sentence -> sets the scene, as asked

    def background(self, k: int, sets_scene) -> bool:
        """Does sentence ``k`` of the abstract set the scene (``sets_scene(sentence)``, cached)."""
        found = self._background.get(k)
        if found is None:
            b = self.bounds()
            found = self._background[k] = sets_scene(self.labstract[b[k]:b[k + 1]])
        return found

    def bounds(self) -> list[int]:
        """Sentence starts of the abstract, then its length."""
        if self._bounds is None:
            self._bounds = [0] + [m.end() for m in _SENTENCE_END.finditer(self.abstract)] + [len(self.abstract)]
        return self._bounds

    def sentence(self, pos: int) -> str:
        """The sentence of the abstract holding character ``pos``, shortened around it if long."""
        bounds = self.bounds()
        k = bisect.bisect_right(bounds, pos) - 1
        start, end = bounds[max(k, 0)], bounds[min(k + 1, len(bounds) - 1)]
        text = self.abstract[start:end].strip()
        if len(text) > MAX_SENTENCE:
            lo = max(0, pos - start - MAX_SENTENCE // 2)
            text = ("…" if lo else "") + text[lo:lo + MAX_SENTENCE].strip() + "…"
        return " ".join(text.split())


def _lower(text: str) -> str:
    low = text.lower()
    # Keep offsets valid: a few characters change length when lower-cased (e.g. 'İ').
    return low if len(low) == len(text) else "".join(c.lower()[:1] or c for c in text)


class _Compiled:
    """Every signal of a taxonomy in one list (themes, sub-themes, facet values), with its prefilter."""

    def __init__(self, taxonomy: Taxonomy):
        self.signals: list[Signal] = []
        self.groups: dict[tuple, list[int]] = {}  # (kind, name[, value]) -> signal ids

        def add(group, signals):
            ids = self.groups.setdefault(group, [])
            for sig in signals:
                ids.append(len(self.signals))
                self.signals.append(sig)

        for theme in taxonomy.themes:
            add(("theme", theme.name), theme.signals)
            add(("requires", theme.name), theme.requires)
            for st in theme.subthemes:
                add(("sub", theme.name, st.name), st.signals)
        for name, facet in taxonomy.facets.items():
            for value, signals in facet.values.items():
                add(("facet", name, value), signals)
        # Learned cues (see .learned), kept apart from the signals: they are searched only in the
        # near misses of the themes the model covers, after the signals have scored every paper.
        self.learned = dict(taxonomy.learned.themes) if taxonomy.learned else {}
        self.cue_phrases = sorted({c.phrase for m in self.learned.values() for c in m.cues})
        where = {p: j for j, p in enumerate(self.cue_phrases)}
        self.cue_regexes = [re.compile(cue_pattern(p)) for p in self.cue_phrases]
        self.cue_weights = np.zeros((len(self.cue_phrases), len(self.learned)))
        self.cue_column = {}
        for k, (name, model) in enumerate(self.learned.items()):
            self.cue_column[name] = k
            for cue in model.cues:
                self.cue_weights[where[cue.phrase], k] = cue.weight
        self._learned_scanner = None
        self.prefilter = Prefilter([s.pattern for s in self.signals])
        self._scanner = self._cue_scanner = None
        self.background = _any_of(taxonomy.background)
        self.weighed = {sid for key, ids in self.groups.items() if key[0] == "theme"
                        for sid in ids if self.signals[sid].weight > 0}
        # Only a theme's own signals are quoted as evidence and weighed by sentence; for the rest
        # (requires, sub-themes, facets) presence is all that counts, and no span is located.
        self.presence_only = {sid for key, ids in self.groups.items() if key[0] != "theme" for sid in ids}
        self.foreground = _any_of(taxonomy.foreground)
        # Signals that count only in company: sid -> the signals of its theme that are company enough,
        # any other positive one (needs = "other") or one that counts on its own (needs = "strong").
        self.needs: dict[int, frozenset] = {}
        for key, ids in self.groups.items():
            if key[0] == "theme":
                positive = {sid for sid in ids if self.signals[sid].weight > 0}
                strong = {sid for sid in positive if self.signals[sid].needs is None}
                for sid in ids:
                    if self.signals[sid].needs == "other":
                        self.needs[sid] = frozenset(positive - {sid})
                    elif self.signals[sid].needs == "strong":
                        self.needs[sid] = frozenset(strong)
        self.needy = frozenset(self.needs)
        # Signal -> group weights, so that every group's score is one matrix product.
        self.group_keys = list(self.groups)
        self.weights = np.zeros((len(self.signals), len(self.group_keys)))
        for g, key in enumerate(self.group_keys):
            for sid in self.groups[key]:
                self.weights[sid, g] = self.signals[sid].weight
        self.column = {key: g for g, key in enumerate(self.group_keys)}

    def sets_scene(self, fast: bool = False):
        """``f(sentence) -> bool``: the taxonomy's background cues match the lower-cased sentence
        and its foreground cues do not. ``fast``: test ASCII sentences with Hyperscan (one pass
        for both kinds of cue, about ten times faster than ``re`` on these alternations)."""
        cues, unless = self.background, self.foreground

        def plain(sentence: str) -> bool:
            return cues is not None and cues.search(sentence) is not None and not (unless and unless.search(sentence))

        if cues is None or not (fast and scan.AVAILABLE):
            return plain
        if self._cue_scanner is None:
            self._cue_scanner = scan.Scanner([cues.pattern] + ([unless.pattern] if unless else []), locate=False)
        scanner = self._cue_scanner
        if scanner.unsupported:
            return plain
        which = scanner.which

        def fast_test(sentence: str) -> bool:
            if not sentence.isascii():
                return plain(sentence)
            found = which(sentence)
            return 0 in found and 1 not in found

        return fast_test

    def scanner(self) -> "scan.Scanner":
        """Every signal, then the claim patterns of :mod:`.facts` (ignoring case), in one
        Hyperscan database: an abstract is scanned once for both."""
        if self._scanner is None:
            n = len(self.signals)
            located = set(range(n)) - self.presence_only
            self._scanner = scan.Scanner([s.pattern for s in self.signals] + CLAIM_PATTERNS,
                                         caseless=range(n, n + len(CLAIM_PATTERNS)), locate=located)
        return self._scanner


    def cue_scanner(self) -> "scan.Scanner":
        """The learned cues in one Hyperscan database (presence only)."""
        if self._learned_scanner is None:
            self._learned_scanner = scan.Scanner([rx.pattern for rx in self.cue_regexes], locate=False)
        return self._learned_scanner

    def cues_found(self, texts: list["_Text"], fast: bool) -> tuple[np.ndarray, np.ndarray]:
        """(in title, in abstract): boolean (texts x cues) matrices of the learned cues found.
        ``fast``: ASCII texts are scanned with Hyperscan (the same result as :func:`cues_searched`)."""
        if not (fast and scan.AVAILABLE and self.cue_regexes):
            return cues_searched(self.cue_regexes, texts)
        n, m = len(texts), len(self.cue_regexes)
        title, abstract = np.zeros((n, m), dtype=bool), np.zeros((n, m), dtype=bool)
        scanner = self.cue_scanner()
        ascii_ = [i for i, t in enumerate(texts) if t.ltitle.isascii() and t.labstract.isascii()]
        found = scanner.spans([texts[i].ltitle for i in ascii_] + [texts[i].labstract for i in ascii_])
        for field, spans in ((title, found[:len(ascii_)]), (abstract, found[len(ascii_):])):
            cells = [(i, j) for i, hits in zip(ascii_, spans) for j in hits]
            if cells:  # one fancy assignment, not one per text
                field[tuple(zip(*cells))] = True
        for j in scanner.unsupported:  # patterns Hyperscan cannot compile: the plain way
            in_title, in_abstract = cues_searched([self.cue_regexes[j]], [texts[i] for i in ascii_])
            title[ascii_, j], abstract[ascii_, j] = in_title[:, 0], in_abstract[:, 0]
        done = set(ascii_)
        plain = [i for i in range(n) if i not in done]
        if plain:
            title[plain], abstract[plain] = cues_searched(self.cue_regexes, [texts[i] for i in plain])
        return title, abstract


def cues_searched(regexes: list[re.Pattern], texts: list["_Text"]) -> tuple[np.ndarray, np.ndarray]:
    """(in title, in abstract): boolean (texts x regexes) matrices, each regex searched in each
    lower-cased field: how the learned cues are found, in classifying as in training."""
    title = np.zeros((len(texts), len(regexes)), dtype=bool)
    abstract = np.zeros_like(title)
    for i, text in enumerate(texts):
        for j, rx in enumerate(regexes):
            title[i, j] = rx.search(text.ltitle) is not None
            abstract[i, j] = rx.search(text.labstract) is not None
    return title, abstract


def _any_of(signals) -> re.Pattern | None:
    """One regex matching where any of ``signals`` matches (None when there are none)."""
    return re.compile("|".join(f"(?:{s.pattern})" for s in signals)) if signals else None


def _compiled(taxonomy: Taxonomy) -> _Compiled:
    found = taxonomy.__dict__.get("_compiled")
    if found is None:
        found = _Compiled(taxonomy)
        object.__setattr__(taxonomy, "_compiled", found)  # a cache; the taxonomy itself is unchanged
    return found


CHUNK = 4096  # texts per Aho-Corasick pass: bounds the memory of the hit arrays


def _match_batch(compiled: _Compiled, texts: list[_Text]) -> list[dict[int, list]]:
    """Per text, signal id -> [((start, end), in_title)], for every signal found in its title or abstract.

    One Aho-Corasick pass per chunk finds the literals every pattern needs; each regex then runs
    only on the texts holding them, and only in the stretch around them (see :class:`.prefilter.Batch`).
    Gives the same signals as :func:`_match_reference`."""
    found: list[dict[int, list]] = [{} for _ in texts]
    for c0 in range(0, len(texts), CHUNK):
        part = texts[c0:c0 + CHUNK]
        n = len(part)
        batch = Batch(compiled.prefilter, [t.ltitle for t in part] + [t.labstract for t in part])
        joined, starts = batch.joined, batch.starts.tolist()
        for sid, sig in enumerate(compiled.signals):
            search = sig.regex.search
            for j, lo, hi in batch.regions(sid):
                m = search(joined, lo, hi)
                if m:
                    base = starts[j]
                    found[c0 + j % n].setdefault(sid, []).append(((m.start() - base, m.end() - base), j < n))
    return found


def _match(compiled: _Compiled, texts: list[_Text], fast: bool | None = None,
           claims: list | None = None) -> list[dict[int, list]]:
    """Per text, signal id -> [((start, end), in_title)]: :func:`_match_scan` for large batches of
    ASCII texts when Hyperscan is installed, :func:`_match_batch` for the rest. The same result.
    ``claims``: a list, one None per text, where the scan puts each text's claim candidates (see
    :func:`.facts._claim_candidates`); texts not scanned keep None."""
    if fast is None:
        fast = len(texts) >= scan.FAST_MIN
    if not (fast and scan.AVAILABLE):
        return _match_batch(compiled, texts)
    plain = [i for i, t in enumerate(texts) if not (t.ltitle.isascii() and t.labstract.isascii())]
    scanned_claims: list = []
    if not plain:
        found = _match_scan(compiled, texts, scanned_claims)
        rest = range(len(texts))
    else:
        found = [{}] * len(texts)
        skip = set(plain)
        rest = [i for i in range(len(texts)) if i not in skip]
        for idx, matched in ((plain, _match_batch(compiled, [texts[i] for i in plain])),
                             (rest, _match_scan(compiled, [texts[i] for i in rest], scanned_claims))):
            for i, hits in zip(idx, matched):
                found[i] = hits
    if claims is not None:
        for i, candidates in zip(rest, scanned_claims):
            claims[i] = candidates
    return found


def _match_scan(compiled: _Compiled, texts: list[_Text], claims: list | None = None) -> list[dict[int, list]]:
    """:func:`_match_batch` for ASCII texts, with one Hyperscan pass per field instead of one regex
    per signal (see :mod:`.scan`): theme signals get the span ``re.search`` gives, the others only
    need to be present and get (0, 0). The same pass finds each abstract's claim candidates: the
    claim patterns it matches (those Hyperscan cannot compile always count); with ``claims`` (a
    list), they are set there, text by text."""
    scanner, signals = compiled.scanner(), compiled.signals
    n, first_claim = len(texts), len(signals)
    spans = scanner.spans([t.ltitle for t in texts] + [t.labstract for t in texts])
    nowhere = (0, 0)
    unsupported = [sid for sid in scanner.unsupported if sid < first_claim]
    claims_unsupported = [sid - first_claim for sid in scanner.unsupported if sid >= first_claim]
    found: list[dict[int, list]] = []
    for i, text in enumerate(texts):
        hits: dict[int, list] = {sid: [(nowhere if span is None else span, True)]
                                 for sid, span in spans[i].items() if sid < first_claim}
        found_claims = []
        for sid, span in spans[n + i].items():
            if sid >= first_claim:
                found_claims.append(sid - first_claim)
                continue
            hit = (nowhere if span is None else span, False)
            if sid in hits:
                hits[sid].append(hit)
            else:
                hits[sid] = [hit]
        for sid in unsupported:  # patterns Hyperscan cannot compile: searched the plain way
            for field_text, in_title in ((text.ltitle, True), (text.labstract, False)):
                m = signals[sid].regex.search(field_text)
                if m:
                    hits.setdefault(sid, []).append((m.span(), in_title))
        found.append(hits)
        if claims is not None:
            claims.append(sorted(found_claims) + claims_unsupported)
    return found


def _weigh(hits: list[dict[int, list]], texts: list[_Text], taxonomy: Taxonomy,
           compiled: _Compiled) -> list[dict[int, list]]:
    """Hits with ``[((start, end), in_title, factor)]`` for the positive theme signals (the others
    keep ``((start, end), in_title)``, factor 1): ``factor`` is the taxonomy's background_weight
    when a signal is found in the abstract only in sentences that set the scene (prior work, the
    field's state), else 1. A later match in a sentence about the paper itself is preferred.
    First, a signal that needs company (``needs = "other"`` or ``"strong"``) is dropped from a
    paper where its company is not found (see :func:`_in_company`)."""
    if compiled.needy:
        hits = _in_company(hits, compiled)
    if compiled.background is None or taxonomy.background_weight == 1.0:
        return hits
    low, signals = taxonomy.background_weight, compiled.signals
    sets_scene = compiled.sets_scene(fast=len(texts) >= scan.FAST_MIN)
    weighed_sids = compiled.weighed  # positive theme signals: the evidence a decision rests on
    out = []
    for text, h in zip(texts, hits):
        weighed = h
        for sid in weighed_sids.intersection(h):
            where = h[sid]
            found = []
            for m, in_title in where:
                factor = 1.0
                if not in_title:
                    bounds = text.bounds()
                    k = bisect.bisect_right(bounds, m[0]) - 1
                    while text.background(k, sets_scene):  # look again after this scene-setting sentence
                        again = signals[sid].regex.search(text.labstract, bounds[k + 1])
                        if again is None:
                            factor = low
                            break
                        m = again.span()
                        k = bisect.bisect_right(bounds, m[0]) - 1
                found.append((m, in_title, factor))
            if weighed is h:
                weighed = dict(h)
            weighed[sid] = found
        out.append(weighed)
    return out


def _in_company(hits: list[dict[int, list]], compiled: _Compiled) -> list[dict[int, list]]:
    """``hits`` without the signals that need company found alone: for needs = "other" no other
    positive signal of their theme in the paper (in either field), for needs = "strong" no signal of
    their theme that counts on its own. Papers that lose none keep their dict, not a copy."""
    needy, needs = compiled.needy, compiled.needs
    out = []
    for h in hits:
        found = needy.intersection(h)
        if found:
            lonely = [sid for sid in found if needs[sid].isdisjoint(h)]
            if lonely:
                h = {sid: where for sid, where in h.items() if sid not in lonely}
        out.append(h)
    return out


def _match_reference(compiled: _Compiled, texts: list[_Text]) -> list[dict[int, list]]:
    """The plain way to do what :func:`_match_batch` does: every regex searched in every text (slow;
    kept as the reference the fast path is tested against)."""
    found: list[dict[int, list]] = [{} for _ in texts]
    for i, text in enumerate(texts):
        for sid, sig in enumerate(compiled.signals):
            for field_text, in_title in ((text.ltitle, True), (text.labstract, False)):
                m = sig.regex.search(field_text)
                if m:
                    found[i].setdefault(sid, []).append((m.span(), in_title))
    return found


def _field_weight(hit: tuple, title_weight: float) -> float:
    """How many times its signal's weight a hit counts: ``title_weight`` in the title, else the
    background factor :func:`_weigh` attached (1 when it attached none)."""
    return title_weight if hit[1] else hit[2] if len(hit) > 2 else 1.0


def _contributions(found_ids, compiled: _Compiled, hits: dict, title_weight: float) -> list:
    """[(contribution, match, in_title)] of the signals ``found_ids`` (in order) in one paper."""
    signals, out = compiled.signals, []
    for sid in found_ids:
        weight = signals[sid].weight
        for hit in hits[sid]:
            out.append((weight * _field_weight(hit, title_weight), hit[0], hit[1]))
    return out


def _evidence(hits, text: _Text, limit: int) -> str:
    """The strongest hits, positive first, as ``+3 "phrase" (title)`` or ``+1 "phrase": sentence``."""
    ordered = sorted(hits, key=lambda h: (-h[0], not h[2]))
    parts = []
    for contribution, m, in_title in ordered[:limit]:
        source = text.title if in_title else text.abstract
        phrase = source[m[0]:m[1]]
        where = " (title)" if in_title else f": {text.sentence(m[0])}"
        parts.append(f'{contribution:+g} "{phrase}"{where}')
    return " | ".join(parts)


def _learned_sums(texts: list[_Text], theme_scores: dict, taxonomy: Taxonomy, compiled: _Compiled):
    """The learned cues' log-odds for the near misses: ``(sums, rows, hits)`` where ``rows`` are
    the papers with a score above 0 and below the threshold in some theme the model covers,
    ``sums`` (rows x modelled themes) their cue sums (a cue counts ``title_weight`` in the title,
    1 in the abstract), and ``hits`` maps a paper to its (in title, in abstract) cue rows."""
    near = np.zeros(len(texts), dtype=bool)
    for theme in taxonomy.themes:
        if theme.name in compiled.learned:
            score = theme_scores[theme.name]
            near |= (score > 0) & (score < theme.threshold)
    rows = np.flatnonzero(near)
    if not len(rows):
        return np.zeros((0, len(compiled.learned))), rows, {}
    title, abstract = compiled.cues_found([texts[i] for i in rows], fast=len(texts) >= scan.FAST_MIN)
    sums = (taxonomy.title_weight * title + abstract) @ compiled.cue_weights
    return sums, rows, {int(i): (title[r], abstract[r]) for r, i in enumerate(rows)}


def _cue_evidence(compiled: _Compiled, theme: str, cue_hits: dict, i: int, title_weight: float, limit: int) -> str:
    """The learned cues that raised paper ``i``'s probability most, as ``+3 "phrase" (title)``."""
    in_title, in_abstract = cue_hits[i]
    weights = compiled.cue_weights[:, compiled.cue_column[theme]]
    found = []
    for j in np.flatnonzero(in_title | in_abstract):
        w = float(weights[j]) * (title_weight * in_title[j] + in_abstract[j])
        if w > 0:
            found.append((w, compiled.cue_phrases[j], bool(in_title[j])))
    found.sort(key=lambda f: (-f[0], f[1]))
    return " ".join(f'{w:+.2g} "{phrase}"' + (" (title)" if t else "") for w, phrase, t in found[:limit])


def _scores(hits: list[dict], compiled: _Compiled, title_weight: float) -> np.ndarray:
    """(texts x groups) scores: every theme, sub-theme and facet value at once, as one product of
    the sparse found-signal matrix (title hits weighted ``title_weight``) with the signal weights."""
    n, m = len(hits), len(compiled.signals)
    # (text x signal, weight) of every hit; the weight is _field_weight's, inlined: this is the
    # innermost loop of a large corpus.
    flat = [(i * m + sid, title_weight if hit[1] else hit[2] if len(hit) > 2 else 1.0)
            for i, h in enumerate(hits) for sid, where in h.items() for hit in where]
    if not flat:
        return np.zeros((n, len(compiled.group_keys)))
    cells, vals = zip(*flat)
    cells = np.asarray(cells, dtype=np.int64)
    # Sparse: a paper holds a few dozen of the hundreds of signals (duplicates are summed).
    found = sparse.csr_matrix((np.asarray(vals, dtype=np.float64), (cells // m, cells % m)), shape=(n, m))
    return found @ compiled.weights


def _columns(texts: list[_Text], hits: list[dict], taxonomy: Taxonomy, compiled: _Compiled,
             claim_patterns=None) -> dict[str, list]:
    """The columns :func:`classify` adds, for ``texts`` with their signal ``hits``."""
    tw, n = taxonomy.title_weight, len(texts)
    out: dict[str, list] = {}
    # Chunks bound the memory of the found-signal matrix.
    parts = [_scores(hits[c0:c0 + CHUNK], compiled, tw) for c0 in range(0, n, CHUNK)]
    scores = np.concatenate(parts) if parts else np.zeros((0, len(compiled.group_keys)))
    col = compiled.column
    # Theme scores first: the learned cues are searched only in the papers some theme narrowly misses.
    # Sums of decimal weights can differ from the exact sum in the last bits: round before comparing.
    theme_scores = {t.name: np.round(scores[:, col[("theme", t.name)]], 3) for t in taxonomy.themes}
    cue_sums, near_rows, cue_hits = _learned_sums(texts, theme_scores, taxonomy, compiled)
    for theme in taxonomy.themes:
        score = theme_scores[theme.name]
        positive = score >= theme.threshold
        added = np.zeros(n, dtype=bool)
        model = compiled.learned.get(theme.name)
        if model is not None and len(near_rows):
            # The learned model adds near misses the rules miss; it removes none (see .learned).
            k = compiled.cue_column[theme.name]
            near = near_rows[~positive[near_rows] & (score[near_rows] > 0)]
            probability = np.zeros(n)
            probability[near_rows] = np.round(probabilities(
                model.intercept + model.rule_weight * rule_feature(score[near_rows], theme.threshold)
                + cue_sums[:, k]), 3)
            added[near] = probability[near] >= model.threshold
            positive = positive | added
        if theme.requires:
            positive &= scores[:, col[("requires", theme.name)]] > 0
            added &= positive  # the evidence must not claim a paper its requires leave out
        subs = theme.subthemes
        sub_names = np.array([theme.fallback_subtheme] + [st.name for st in subs] + [""], dtype=object)
        if subs:
            sub_scores = scores[:, [col[("sub", theme.name, st.name)] for st in subs]]
            best = sub_scores.argmax(axis=1) + 1
            best[sub_scores.max(axis=1) <= 0] = 0
        else:
            best = np.zeros(n, dtype=np.int64)
        best[~positive] = len(sub_names) - 1
        ids = compiled.groups[("theme", theme.name)]
        id_set, rank = frozenset(ids), {sid: r for r, sid in enumerate(ids)}.__getitem__
        evidence = []
        for i, (text, h) in enumerate(zip(texts, hits)):
            present = id_set.intersection(h)
            # Near misses keep their evidence too, so an author can see why a paper was left out.
            # (Signals in file order: the order ties keep in the evidence.)
            found = (_evidence(_contributions(sorted(present, key=rank), compiled, h, tw), text,
                               taxonomy.max_evidence) if present else "")
            if added[i]:  # say why: the cues, then the rules' near miss
                cues = _cue_evidence(compiled, theme.name, cue_hits, i, tw, taxonomy.max_evidence)
                found = (f"{LEARNED_EVIDENCE} p={probability[i]:g} (rules {score[i]:g} < {theme.threshold:g}): "
                         f"{cues or 'no cue'}" + (f" | {found}" if found else ""))
            evidence.append(found)
        out[theme.name] = positive.tolist()
        out[f"{theme.name}_score"] = score.tolist()
        out[f"{theme.name}_subtheme"] = sub_names[best].tolist()
        out[f"{theme.name}_evidence"] = evidence
    for name, facet in taxonomy.facets.items():
        values = list(facet.values)
        fs = scores[:, [col[("facet", name, v)] for v in values]] if values else np.zeros((n, 0))
        if facet.multi:
            default = facet.default if isinstance(facet.default, list) else ([facet.default] if facet.default else [])
            out[name] = [[v for v, hit in zip(values, row) if hit] or list(default) for row in (fs > 0).tolist()]
        else:
            empty = facet.default or ""
            if values:
                best = fs.argmax(axis=1)
                picked = np.array(values, dtype=object)[best]
                picked[fs.max(axis=1) <= 0] = empty
                out[name] = picked.tolist()
            else:
                out[name] = [empty] * n
    facts = [extract_facts(t.title, t.abstract, c)
             for t, c in zip(texts, claim_patterns if claim_patterns is not None else [None] * n)]
    for column in FACT_COLUMNS:
        out[column] = [f[column] for f in facts]
    return out


def classify_one(title: str, abstract: str, taxonomy: Taxonomy) -> dict:
    """The classification of one paper as a flat dict (the columns :func:`classify` adds)."""
    compiled = _compiled(taxonomy)
    text = _Text(title or "", abstract or "")
    hits = _weigh(_match(compiled, [text]), [text], taxonomy, compiled)
    return {k: v[0] for k, v in _columns([text], hits, taxonomy, compiled).items()}


def theme_columns(taxonomy: Taxonomy) -> list[str]:
    cols = []
    for t in taxonomy.themes:
        cols += [t.name, f"{t.name}_score", f"{t.name}_subtheme", f"{t.name}_evidence"]
    return cols


FACT_COLUMNS = ["method", "method_source", "code_url", "claims", "claimed_reduction", "claimed_speedup"]


PARALLEL_MIN = 5000  # below this many papers a second process costs more than it saves


def classify(papers: pd.DataFrame, taxonomy: Taxonomy | str | Path, workers: int | None = None) -> pd.DataFrame:
    """Classify papers into the taxonomy's themes.

    ``papers``: a DataFrame with ``title`` and ``abstract`` (missing/NaN abstracts count as empty).
    ``taxonomy``: a :class:`Taxonomy` or the path of a taxonomy file.
    Returns a DataFrame with the same index and input columns, plus for each theme T: ``T`` (bool),
    ``T_score``, ``T_subtheme`` (set whenever T is true), ``T_evidence`` (the phrases and sentences
    that decided it); the facets (e.g. ``modalities`` list, ``contribution``); and the facts
    ``method``, ``method_source``, ``code_url``, ``claims`` (list of {kind, text, start, end}),
    ``claimed_reduction``, ``claimed_speedup``. Overrides are not applied here.
    ``workers``: processes to classify in (default: every core for 5,000 papers or more, on Linux;
    see :mod:`surveylib.workers`). The result is the same for any number.
    """
    if not isinstance(taxonomy, Taxonomy):
        taxonomy = load_taxonomy(taxonomy)
    if "title" not in papers.columns:
        raise SurveyError("papers need a 'title' column", hint="pass a DataFrame with title and abstract")
    titles = papers["title"].fillna("").astype(str).tolist()
    abstracts = (papers["abstract"].fillna("").astype(str).tolist() if "abstract" in papers.columns
                 else [""] * len(papers))
    compiled = _compiled(taxonomy)
    n = len(titles)
    if workers is None:
        workers = _workers() if n >= PARALLEL_MIN else 1
    parts = _split(n, workers)
    if len(parts) > 1 and scan.AVAILABLE and len(parts[-1]) >= scan.FAST_MIN:
        # Compiled (or loaded) once, before the processes part, not once in each.
        compiled.scanner(), compiled.sets_scene(fast=True)
        if compiled.cue_regexes:
            compiled.cue_scanner()

    def columns_of(part: range) -> dict[str, list]:
        texts = [_Text(titles[i], abstracts[i]) for i in part]
        claims: list = [None] * len(texts)
        hits = _weigh(_match(compiled, texts, claims=claims), texts, taxonomy, compiled)
        claims = _claim_candidates(abstracts[part.start:part.stop], known=claims)
        return _columns(texts, hits, taxonomy, compiled, claims)

    with paused_gc():
        done = fork_map(columns_of, parts)
    columns = theme_columns(taxonomy) + list(taxonomy.facets) + FACT_COLUMNS
    data = {c: [v for d in done for v in d[c]] for c in columns} if len(done) != 1 else done[0]
    added = pd.DataFrame({c: data[c] for c in columns}, index=papers.index, columns=columns)
    for t in taxonomy.themes:
        added[t.name] = added[t.name].astype(bool)
    keep = papers.drop(columns=[c for c in columns if c in papers.columns])
    return pd.concat([keep, added], axis=1)
