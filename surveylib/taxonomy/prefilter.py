"""A literal prefilter, so that regular expressions run only on texts that can match them.

Every signal pattern needs certain literal strings to be present: ``token[- ](?:pruning|merging)``
cannot match a text holding neither "pruning" nor "merging", nor one without "token".
:func:`required_literals` reads those requirements off the parsed pattern as clauses (all must
hold; each is satisfied by any one of its strings). :class:`Prefilter` finds all the literals of
all patterns in a whole batch of texts in one Aho-Corasick pass (C speed) and returns, per pattern,
the texts that satisfy every clause. The regular expression then confirms the match and gives the
span. This keeps classification in the tens of thousands of abstracts per second.
"""
from __future__ import annotations

import numpy as np

try:  # Python >= 3.11
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _c
    import sre_parse as _p

import ahocorasick

MIN_LITERAL = 3  # shorter strings are too common to filter anything


def _clauses(items, least: int = MIN_LITERAL) -> list[frozenset[str]]:
    """CNF clauses of literals (each at least ``least`` long) a match of the parsed sequence ``items`` must contain."""
    clauses: list[frozenset[str]] = []
    buf: list[str] = []

    def flush():
        if len(buf) >= least:
            clauses.append(frozenset(["".join(buf)]))
        buf.clear()

    for op, arg in items:
        if op is _c.LITERAL:
            buf.append(chr(arg))
            continue
        if op is _c.AT:  # zero-width: does not break a literal run
            continue
        flush()
        if op is _c.SUBPATTERN:
            clauses += _clauses(arg[-1], least)
        elif op is _c.BRANCH:
            union: set[str] = set()
            for branch in arg[1]:
                best = _best(_clauses(branch, least))
                if best is None:
                    union = set()
                    break
                union |= best
            if union:
                clauses.append(frozenset(union))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)) and arg[0] >= 1:
            clauses += _clauses(arg[2], least)
    flush()
    return clauses


def _best(clauses: list[frozenset[str]]) -> frozenset[str] | None:
    """The most selective clause: its shortest string longest, then the fewest strings."""
    if not clauses:
        return None
    return max(clauses, key=lambda c: (min(map(len, c)), -len(c)))


def required_literals(pattern: str) -> list[frozenset[str]]:
    """Clauses of literal strings any match of ``pattern`` contains (empty: no requirement known).
    Strings shorter than MIN_LITERAL are used only when the pattern has nothing longer (e.g. '3d')."""
    parsed = _p.parse(pattern)
    return ([c for c in _clauses(parsed) if all(len(s) >= MIN_LITERAL for s in c)]
            or [c for c in _clauses(parsed, 2) if all(len(s) >= 2 for s in c)])


def uppercase_literals(pattern: str) -> list[str]:
    """Upper-case literal characters of ``pattern`` (they can never match lower-cased text)."""
    found = []

    def walk(items):
        for op, arg in items:
            if op is _c.LITERAL and chr(arg).lower() != chr(arg):
                found.append(chr(arg))
            elif op is _c.SUBPATTERN:
                walk(arg[-1])
            elif op is _c.BRANCH:
                for b in arg[1]:
                    walk(b)
            elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
                walk(arg[2])

    walk(_p.parse(pattern))
    return found


class Prefilter:
    """Candidate texts per pattern for a batch, from one Aho-Corasick pass over all the texts."""

    def __init__(self, patterns: list[str]):
        self.clauses = [required_literals(p) for p in patterns]
        self.literals = sorted({s for cl in self.clauses for c in cl for s in c})
        self.index = {s: i for i, s in enumerate(self.literals)}
        self.lengths = [len(s) for s in self.literals]
        self.automaton = None
        if self.literals:
            self.automaton = ahocorasick.Automaton()
            for s, i in self.index.items():
                self.automaton.add_word(s, i)
            self.automaton.make_automaton()

    def candidates(self, texts: list[str]) -> list[np.ndarray | None]:
        """For each pattern, the indices of ``texts`` that hold every required literal
        (None: the pattern has no known requirement, so every text is a candidate)."""
        n = len(texts)
        present = [np.zeros(0, dtype=np.int64)] * len(self.literals)
        if self.automaton is not None and n:
            sep = "\x00"
            starts = np.zeros(n, dtype=np.int64)
            pos = 0
            for i, t in enumerate(texts):
                starts[i] = pos
                pos += len(t) + 1
            hits = np.fromiter((v for item in self.automaton.iter(sep.join(texts)) for v in item),
                               dtype=np.int64)
            if hits.size:
                ends, lits = hits[0::2], hits[1::2]
                docs = np.searchsorted(starts, ends, side="right") - 1
                pairs = np.unique(lits * n + docs)
                lits, docs = pairs // n, pairs % n
                bounds = np.searchsorted(lits, np.arange(len(self.literals) + 1))
                present = [docs[bounds[i]:bounds[i + 1]] for i in range(len(self.literals))]
        out: list[np.ndarray | None] = []
        for clauses in self.clauses:
            if not clauses:
                out.append(None)
                continue
            mask = np.ones(n, dtype=bool)
            for clause in clauses:
                hit = np.zeros(n, dtype=bool)
                for s in clause:
                    hit[present[self.index[s]]] = True
                mask &= hit
            out.append(np.flatnonzero(mask))
        return out


WINDOW = 200  # characters a match may extend before/after the literals it must contain


class Batch:
    """A batch of texts joined into one string, with the Aho-Corasick hits of a :class:`Prefilter`.

    ``joined`` holds the texts separated by NUL (a non-word character, so ``\\b`` behaves at text
    edges); ``starts[i]``/``stops[i]`` bound text ``i`` in it. :meth:`regions` gives, per pattern,
    the only stretch of each text where a match can be, so a regex searches a window, not the text.
    """

    def __init__(self, prefilter: "Prefilter", texts: list[str]):
        self.prefilter = prefilter
        self.n = n = len(texts)
        self.joined = "\x00".join(texts)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        self.starts = np.zeros(n, dtype=np.int64)
        if n:
            self.starts[1:] = np.cumsum(lengths + 1)[:-1]
        self.stops = self.starts + lengths
        ends = lits = docs = np.zeros(0, dtype=np.int64)
        if prefilter.automaton is not None and n:
            hits = np.fromiter((v for item in prefilter.automaton.iter(self.joined) for v in item), dtype=np.int64)
            if hits.size:
                ends, lits = hits[0::2], hits[1::2]
                docs = np.searchsorted(self.starts, ends, side="right") - 1
        order = np.argsort(lits, kind="stable")  # by literal, then position
        self.ends, self.lits, self.docs = ends[order], lits[order], docs[order]
        self.bounds = np.searchsorted(self.lits, np.arange(len(prefilter.literals) + 1))
        nl = len(prefilter.literals)
        self.present = [np.unique(self.docs[self.bounds[i]:self.bounds[i + 1]]) for i in range(nl)]

    def _mask(self, clauses) -> np.ndarray:
        index = self.prefilter.index
        mask = np.ones(self.n, dtype=bool)
        for clause in clauses:
            hit = np.zeros(self.n, dtype=bool)
            for s in clause:
                hit[self.present[index[s]]] = True
            mask &= hit
        return mask

    def regions(self, k: int, before: int = WINDOW, after: int = WINDOW) -> list[tuple[int, int, int]]:
        """(text index, lo, hi) in ``joined`` for pattern ``k``: every text holding all its required
        literals, with the stretch from ``before`` characters ahead of its first anchor literal to
        ``after`` characters past its last (the whole text when the pattern requires nothing)."""
        clauses = self.prefilter.clauses[k]
        if not clauses:
            return list(zip(range(self.n), self.starts.tolist(), self.stops.tolist()))
        mask = self._mask(clauses)
        index, lengths, bounds = self.prefilter.index, self.prefilter.lengths, self.bounds
        # Anchor on the clause whose literals are rarest in this batch: the fewest, tightest regions.
        anchor = min(clauses, key=lambda c: sum(bounds[index[x] + 1] - bounds[index[x]] for x in c))
        parts = [slice(self.bounds[index[s]], self.bounds[index[s] + 1]) for s in anchor]
        d = np.concatenate([self.docs[p] for p in parts])
        e = np.concatenate([self.ends[p] for p in parts])
        s = e - np.concatenate([np.full(p.stop - p.start, lengths[index[x]]) for p, x in zip(parts, anchor)]) + 1
        keep = mask[d]
        d, s, e = d[keep], s[keep], e[keep]
        if not d.size:
            return []
        order = np.lexsort((s, d))
        d, s, e = d[order], s[order], e[order]
        first = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
        docs = d[first]
        lo = np.maximum(s[first] - before, self.starts[docs])
        hi = np.minimum(np.maximum.reduceat(e, first) + 1 + after, self.stops[docs])
        return list(zip(docs.tolist(), lo.tolist(), hi.tolist()))
