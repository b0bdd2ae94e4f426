"""The data model: a Paper, the ingest report, and the deduplicated Corpus as a DataFrame.

Ingest works on :class:`Listings` (the same fields as Paper, held as columns) so that 100,000s
of listings cost a few lists rather than an object each: :func:`merge_listings` dedups them,
:func:`near_duplicates` finds candidates, :meth:`Listings.frame` builds the corpus. The
one-Paper-at-a-time functions (:func:`dedupe`, :func:`to_frame`) give the same results.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from bisect import bisect_right
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from itertools import accumulate
from operator import itemgetter

import numpy as np
import pandas as pd
from rapidfuzz.fuzz import ratio
from rapidfuzz.process import cpdist

#: Columns of the corpus DataFrame, in order (one row per distinct paper).
CORPUS_COLUMNS = [
    "paper_id", "title", "abstract", "urls", "code_url", "project_url", "provenance",
    "authors", "year", "eprint", "archive_prefix", "primary_class", "categories", "doi",
    "entry_type", "published", "extra",
]


@dataclass
class Paper:
    """One listing of a paper as a source gives it.

    ``provenance`` holds ``"path:line"`` of every place the paper was listed; after
    deduplication it holds all of them. ``extra`` keeps any other metadata the source had.
    """

    title: str
    abstract: str = ""
    provenance: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    eprint: str | None = None
    archive_prefix: str | None = None
    primary_class: str | None = None
    categories: list[str] = field(default_factory=list)
    doi: str | None = None
    url: str | None = None
    entry_type: str | None = None
    published: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def urls(self) -> list[str]:
        return find_urls(self.abstract)


@dataclass
class IngestIssue:
    """A block that was skipped or looks suspicious, with where it is and why."""

    where: str  # "path:line"
    reason: str
    skipped: bool = True

    def __str__(self) -> str:
        return f"{self.where}: {'skipped' if self.skipped else 'warning'}: {self.reason}"


@dataclass
class IngestReport:
    """What ingest did: counts, and every skipped or suspicious block with its location."""

    files: list[str] = field(default_factory=list)
    listings: int = 0
    papers: int = 0
    duplicates_merged: int = 0
    issues: list[IngestIssue] = field(default_factory=list)
    near_duplicates: list[tuple[str, str, float]] = field(default_factory=list)

    @property
    def skipped(self) -> list[IngestIssue]:
        return [i for i in self.issues if i.skipped]

    @property
    def warnings(self) -> list[IngestIssue]:
        return [i for i in self.issues if not i.skipped]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["skipped"] = len(self.skipped)
        return d

    def __str__(self) -> str:
        lines = [
            f"ingest: {len(self.files)} source file(s), {self.listings} listings read, "
            f"{self.papers} papers, {self.duplicates_merged} duplicate listings merged, "
            f"{len(self.skipped)} block(s) skipped, {len(self.warnings)} warning(s), "
            f"{len(self.near_duplicates)} near-duplicate candidate(s)"
        ]
        lines += [f"  {issue}" for issue in self.issues]
        for a, b, score in self.near_duplicates:
            lines.append(f"  near-duplicate ({score:.0f}%), not merged: {a!r} ~ {b!r}")
        return "\n".join(lines)


# --- titles -------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_LATEX_CMD = re.compile(r"\\[a-zA-Z]+\s*|\\.")
# ASCII bytes as normalize_title sees them: letters lower-cased, digits kept, all else a space.
_ASCII_FOLD = bytes(b if chr(b).isalnum() and b < 128 else 32 for b in range(256)).lower()
_BULK_FOLD = _ASCII_FOLD[:10] + b"\n" + _ASCII_FOLD[11:]  # "\n" separates titles in bulk


def normalize_title(title: str) -> str:
    """The form titles are matched on: Unicode NFKC, case-folded, accents, punctuation,
    braces and whitespace removed; digits kept ("Llama 2" != "Llama 3")."""
    if title.isascii():
        # Fast path (most titles): NFKC and accent stripping change nothing in ASCII, and the
        # word characters are exactly the ASCII letters and digits.
        return b" ".join(title.encode("ascii").translate(_ASCII_FOLD).split()).decode("ascii")
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD.findall(text))


def normalize_titles(titles: list[str]) -> list[str]:
    """``[normalize_title(t) for t in titles]``, with the ASCII titles done in a few passes
    over one joined buffer instead of one call each (what keeps 100k titles cheap)."""
    titles = list(titles)
    plain = [i for i, t in enumerate(titles) if t.isascii() and "\n" not in t]
    if len(plain) == len(titles):
        return _fold_ascii(titles)
    out: list[str | None] = [None] * len(titles)
    for i, norm in zip(plain, _fold_ascii([titles[i] for i in plain])):
        out[i] = norm
    return [normalize_title(t) if norm is None else norm for t, norm in zip(titles, out)]


def _fold_ascii(titles: list[str], chunk: int = 16384) -> list[str]:
    """normalize_title of ASCII titles without newlines, a few thousand at once."""
    if len(titles) > chunk:
        return [norm for start in range(0, len(titles), chunk) for norm in _fold_ascii(titles[start:start + chunk])]
    if not titles:
        return []
    blob = np.frombuffer("\n".join(titles).encode("ascii").translate(_BULK_FOLD), np.uint8)
    # One space between words, none at either end of a title: of each run of spaces, keep the
    # first when a word comes both before and after the run.
    space = blob == 32
    word = ~space & (blob != 10)
    runs = space.copy()
    runs[1:] &= ~space[:-1]  # first space of a run
    ends = space.copy()
    ends[:-1] &= ~space[1:]  # last space of a run
    starts, stops = np.flatnonzero(runs), np.flatnonzero(ends)
    inner = (starts > 0) & (stops < len(blob) - 1)
    inner[inner] = word[starts[inner] - 1] & word[stops[inner] + 1]
    keep = ~space
    keep[starts[inner]] = True
    return blob[keep].tobytes().decode("ascii").split("\n")


# --- urls ---------------------------------------------------------------------------------

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "huggingface.co", "codeberg.org", "gitee.com")
_CODE_HOST = re.compile("|".join(map(re.escape, _CODE_HOSTS)))


def _trim_url(url: str) -> str:
    # Abstracts end URLs with sentence punctuation, or close a bracket the URL never opened.
    while url and url[-1] in ".,;:!?'\"}]>*":
        url = url[:-1]
    while url.endswith(")") and url.count("(") < url.count(")"):
        url = url[:-1]
    return url


def find_urls(text: str) -> list[str]:
    """URLs mentioned in ``text``, in order, trailing punctuation trimmed, each once."""
    if not text:
        return []
    if _LONG_S in text:
        return _clean_urls(_URL.findall(text))
    return _clean_urls([match for _, match in _url_matches(text)])


def find_urls_many(texts: list[str], chunk: int = 2048) -> list[list[str]]:
    """``[find_urls(t) for t in texts]``, scanning a few thousand texts per pass (most texts
    have no URL, and a call per text costs more than its scan)."""
    out: list[list[str]] = [[] for _ in texts]
    for first in range(0, len(texts), chunk):
        part = texts[first:first + chunk]
        # A newline ends any URL, so no match reaches from one text into the next.
        text = "\n".join(part)
        if _LONG_S in text:
            out[first:first + len(part)] = [find_urls(t) for t in part]
            continue
        matches = _url_matches(text)
        if not matches:
            continue
        ends = list(accumulate(map((1).__add__, map(len, part))))  # where each text's newline ends
        found: dict[int, list[str]] = defaultdict(list)
        for start, match in matches:
            found[bisect_right(ends, start)].append(match)
        for k, these in found.items():
            out[first + k] = _clean_urls(these)
    return out


def _clean_urls(matches: list[str]) -> list[str]:
    seen: list[str] = []
    for match in matches:
        url = _trim_url(match)
        if url.lower().startswith("www."):
            url = "https://" + url
        if len(url) > len("https://x.y") and url not in seen:
            seen.append(url)
    return seen


# _URL without trying the case-blind pattern at every character of a long text: "://" is found
# from its colon and "www." from its dot (a search for one character runs at C speed). The only
# non-ASCII character the case-blind pattern takes for one of its letters is the long s, which
# sends a text to _URL itself. For ASCII text the tail's \s is spelled out (the ASCII characters
# str.isspace() accepts): a plain character set matches much faster than the Unicode category.
_LONG_S = "\u017f"
_WWW_DOT = re.compile(r"\.(?<=[wW][wW][wW]\.)")
_URL_TAIL = re.compile(r"[^\s<>\"']+")
_ASCII_URL_TAIL = re.compile(r"[^ \t\n\r\x0b\x0c\x1c-\x1f<>\"']+")


def _url_matches(text: str) -> list[tuple[int, str]]:
    """``(start, match)`` for each match of ``_URL`` in ``text``, which has no long s."""
    starts = []
    i = text.find(":")  # colons are few, and found far faster than "://"
    while i != -1:
        if text.startswith("//", i + 1):
            scheme = text[max(i - 5, 0):i].lower()
            if scheme == "https":
                starts.append((i - 5, 8))
            elif scheme[-4:] == "http":
                starts.append((i - 4, 7))
        i = text.find(":", i + 1)
    for dot in _WWW_DOT.finditer(text):
        starts.append((dot.start() - 3, 4))
    if not starts:
        return []
    tail_at = (_ASCII_URL_TAIL if text.isascii() else _URL_TAIL).match
    found, end = [], 0
    for start, prefix in sorted(starts):
        if start >= end:  # not inside the previous URL
            tail = tail_at(text, start + prefix)
            if tail:
                end = tail.end()
                found.append((start, text[start:end]))
    return found


def code_and_project_url(urls: list[str]) -> tuple[str | None, str | None]:
    """Split URLs into the first code repository and the first other (project page) link."""
    code = project = None
    for url in urls:
        if _CODE_HOST.search(url.lower()):
            if code is None:
                code = url
        elif project is None:
            project = url
        if code is not None and project is not None:
            break
    return code, project


# --- listings in columns ------------------------------------------------------------------

#: Paper fields besides title, abstract and provenance.
FIELDS = ("authors", "year", "eprint", "archive_prefix", "primary_class", "categories", "doi", "url",
          "entry_type", "published", "extra")
_LIST_FIELDS = ("authors", "categories")
_SCALAR_FIELDS = ("year", "eprint", "archive_prefix", "primary_class", "doi", "url", "entry_type", "published")


class Listings:
    """Listings as columns, one entry per listing in source order: what the parsers produce
    and what dedup, the near-duplicate search and the corpus frame work on.

    ``title``, ``abstract`` and ``provenance`` (a list of ``"path:line"`` per listing) always
    exist. Any other :class:`Paper` field is a column in ``fields`` only once some listing has
    it, holding None for a listing without a value (read as the Paper default: ``[]``, ``{}``
    or None); a column may be shorter than the listings until :meth:`column` pads it. A page
    of titles and abstracts so costs three lists, not an object per listing.
    """

    __slots__ = ("title", "abstract", "provenance", "fields")

    def __init__(self, title: list[str] | None = None, abstract: list[str] | None = None,
                 provenance: list[list[str]] | None = None, fields: dict[str, list] | None = None):
        self.title = title if title is not None else []
        self.abstract = abstract if abstract is not None else []
        self.provenance = provenance if provenance is not None else []
        self.fields = fields if fields is not None else {}

    def __len__(self) -> int:
        return len(self.title)

    def column(self, name: str) -> list:
        """Field ``name`` for every listing (None where a listing has no value)."""
        col = self.fields.get(name)
        if col is None:
            return [None] * len(self.title)
        if len(col) < len(self.title):
            col.extend([None] * (len(self.title) - len(col)))
        return col

    def append(self, paper: Paper) -> None:
        """Add one listing given as a Paper; its lists and dicts are taken, not copied."""
        row = len(self.title)
        self.title.append(paper.title)
        self.abstract.append(paper.abstract)
        self.provenance.append(paper.provenance)
        for name in FIELDS:
            value = getattr(paper, name)
            if value is None or (not value and (name in _LIST_FIELDS or name == "extra")):
                continue
            col = self.fields.setdefault(name, [])
            col.extend([None] * (row - len(col)))
            col.append(value)

    def extend(self, other: Listings) -> None:
        """Add ``other``'s listings after these."""
        row = len(self.title)
        for name, col in other.fields.items():
            mine = self.fields.setdefault(name, [])
            mine.extend([None] * (row - len(mine)))
            mine.extend(col)
        self.title.extend(other.title)
        self.abstract.extend(other.abstract)
        self.provenance.extend(other.provenance)

    @classmethod
    def from_papers(cls, papers) -> Listings:
        """Listings from Paper objects (sharing their lists and dicts)."""
        out = cls()
        for paper in papers:
            out.append(paper)
        return out

    def papers(self) -> list[Paper]:
        """One Paper per listing, each with lists and dicts of its own."""
        cols = {name: self.column(name) for name in self.fields}
        out = []
        for i, (title, abstract, provenance) in enumerate(zip(self.title, self.abstract, self.provenance)):
            paper = Paper(title, abstract, list(provenance))
            for name, col in cols.items():
                value = col[i]
                if value is not None:
                    setattr(paper, name, list(value) if name in _LIST_FIELDS
                            else dict(value) if name == "extra" else value)
            out.append(paper)
        return out

    def frame(self, norms: list[str] | None = None, copy: bool = True) -> pd.DataFrame:
        """The corpus DataFrame of these listings (one row each, columns :data:`CORPUS_COLUMNS`).

        ``norms`` are the normalised titles when already known. With ``copy=False`` the rows
        take the listings' own lists and dicts (for listings nothing else holds).
        """
        n = len(self.title)
        norms = normalize_titles(self.title) if norms is None else norms
        urls = find_urls_many(self.abstract)
        if "url" in self.fields:
            for found, url in zip(urls, self.column("url")):
                if url and url not in found:
                    found.insert(0, url)
        links = [code_and_project_url(u) if u else (None, None) for u in urls]
        cols: dict[str, list] = {
            "paper_id": [hashlib.sha1(t.encode("utf-8")).hexdigest()[:12] for t in norms],
            "title": self.title, "abstract": self.abstract, "urls": urls,
            "code_url": [c for c, _ in links], "project_url": [p for _, p in links],
            "provenance": [list(p) for p in self.provenance] if copy else self.provenance,
        }
        for name in _SCALAR_FIELDS:
            cols[name] = self.column(name)
        for name in (*_LIST_FIELDS, "extra"):
            values = self.fields.get(name)
            if values is None:
                cols[name] = [{} for _ in range(n)] if name == "extra" else [[] for _ in range(n)]
                continue
            fresh = dict if name == "extra" else list
            values = self.column(name)
            cols[name] = ([fresh() if v is None else fresh(v) for v in values] if copy
                          else [fresh() if v is None else v for v in values])
        frame = pd.DataFrame(cols, columns=CORPUS_COLUMNS)
        frame["year"] = frame["year"].astype("Int64")
        return frame


# --- dedup --------------------------------------------------------------------------------

def merge_listings(listings: Listings, report: IngestReport | None = None,
                   norms: list[str] | None = None) -> tuple[Listings, list[str]]:
    """Merge listings with the same normalised title (see :func:`dedupe`).

    Returns the merged listings, one per paper in first-listed order, and their normalised
    titles. ``norms`` are the listings' normalised titles when already known. The input is
    not modified (the result may share its lists).
    """
    report = report if report is not None else IngestReport()
    norms = normalize_titles(listings.title) if norms is None else norms
    if not norms:
        return listings, norms
    # Codes number the distinct titles in order of first listing, so a listing is a title's
    # first exactly when its code exceeds every code before it.
    codes = pd.factorize(np.array(norms, dtype=object))[0]
    is_first = codes > np.maximum.accumulate(np.concatenate(([-1], codes[:-1])))
    kept = np.flatnonzero(is_first)
    if len(kept) == len(norms):
        return listings, norms
    abstract, prov = list(listings.abstract), list(listings.provenance)
    cols = {name: list(listings.column(name)) for name in listings.fields}
    for i, k in zip(np.flatnonzero(~is_first).tolist(), kept[codes[~is_first]].tolist()):
        prov[k] = prov[k] + prov[i]
        mine, theirs = abstract[k], abstract[i]
        if not mine and theirs:
            abstract[k] = theirs
        elif theirs and theirs != mine and normalize_title(theirs) != normalize_title(mine):
            report.issues.append(IngestIssue(
                prov[i][0] if prov[i] else "?",
                f"same title as {(prov[k] or ['?'])[0]} but a different abstract; kept the first", skipped=False))
        for name, col in cols.items():
            mine, theirs = col[k], col[i]
            if theirs is None:
                continue
            if name == "extra":
                merged = dict(mine) if mine is not None else {}
                for key, value in theirs.items():
                    merged.setdefault(key, value)
                col[k] = merged
            elif name in _LIST_FIELDS:
                if not mine and theirs:
                    col[k] = list(theirs)
            elif mine in (None, "") and theirs not in (None, ""):
                col[k] = theirs
    report.duplicates_merged += len(norms) - len(kept)
    take = _taker(kept.tolist())
    merged = Listings(take(listings.title), take(abstract), take(prov), {name: take(col) for name, col in cols.items()})
    return merged, take(norms)


def _taker(rows: list[int]):
    """A function giving ``[values[i] for i in rows]`` for a list ``values`` (at C speed)."""
    if len(rows) == 1:
        return lambda values: [values[rows[0]]]
    get = itemgetter(*rows)
    return lambda values: list(get(values))


def dedupe(papers: list[Paper], report: IngestReport | None = None) -> list[Paper]:
    """Merge listings with the same normalised title, keeping the first listing's text and
    every listing's provenance; metadata missing from the first is filled from later ones."""
    return merge_listings(Listings.from_papers(papers), report)[0].papers()


# --- near-duplicates ----------------------------------------------------------------------

_DIGITS = re.compile(r"\d+")
_DIGIT_MARK = str.maketrans("0123456789", "#" * 10)
_MARKS = re.compile("##+")
_HAS_DIGIT = re.compile(r"\d").search
# Characters counted for the cheap similarity bound: ASCII letters, digits, space; the rest share a bin.
_BINS = "abcdefghijklmnopqrstuvwxyz0123456789 "
_BIN_OF = np.full(128, len(_BINS), np.uint8)
_BIN_OF[[ord(c) for c in _BINS]] = np.arange(len(_BINS))
_NBINS = len(_BINS) + 1
#: Blocks up to this size are compared as explicit pairs; larger ones through one matrix product.
_SMALL_BLOCK = 48


def near_duplicates(titles: list[str], threshold: float = 90.0, max_block: int = 400,
                    norms: list[str] | None = None) -> list[tuple[str, str, float]]:
    """Pairs of distinct titles similar enough to be the same paper (fuzzy ratio >= threshold).

    Only candidates: nothing is merged. Comparisons run within blocks of titles that share
    their first or last two words, or differ only in digits; blocks larger than ``max_block``
    are skipped, so the cost stays near linear. ``norms`` are the normalised titles when
    already known. Returns ``(title_a, title_b, score)`` sorted by position.
    """
    titles = list(titles)
    norms = normalize_titles(titles) if norms is None else norms
    return [(titles[i], titles[j], s) for i, j, s in _similar_pairs(norms, threshold, max_block)]


def _similar_pairs(norms: list[str], threshold: float, max_block: int) -> list[tuple[int, int, float]]:
    """(i, j, score) for i < j in a common block with fuzz.ratio(norms[i], norms[j]) >= threshold.

    Scoring every pair of a block is most of the cost and almost every pair is far apart, so
    pairs are first screened by a bound that is never below the real score: fuzz.ratio is
    200 * LCS / (len_a + len_b), and the longest common subsequence can be no longer than the
    shorter title, nor than the characters the two have in common, counted per character.
    Only pairs passing the screen are scored, by rapidfuzz, as every pair was before.
    """
    if len(norms) < 2:
        return []
    lengths = np.fromiter(map(len, norms), np.int64, len(norms))
    counts = _char_counts(norms, lengths)
    limit = threshold - 0.05  # screen a little loosely; rapidfuzz has the last word
    candidates: set[tuple[int, int]] = set()
    for m, blocks in _blocks(norms, counts, max_block).items():
        if m > _SMALL_BLOCK:
            for block in blocks:
                candidates.update(_screen_block(block, lengths, counts, limit))
            continue
        # Small blocks: every pair of every block of this size at once.
        first, second = np.triu_indices(m, 1)
        i, j = blocks[:, first].ravel(), blocks[:, second].ravel()
        common = np.minimum(counts[i], counts[j]).sum(axis=1)
        ok = 200.0 * common >= limit * (lengths[i] + lengths[j])
        candidates.update(zip(i[ok].tolist(), j[ok].tolist()))
    pairs = sorted((min(i, j), max(i, j)) for i, j in candidates if norms[i] != norms[j])
    if not pairs:
        return []
    # One call scores every candidate pair; scores come as float32, as from rapidfuzz's cdist
    # before (what the report has always shown).
    scores = cpdist([norms[i] for i, _ in pairs], [norms[j] for _, j in pairs], scorer=ratio,
                    score_cutoff=threshold, workers=1)
    return [(i, j, score) for (i, j), score in zip(pairs, scores.tolist()) if score]


def _screen_block(block: np.ndarray, lengths: np.ndarray, counts: np.ndarray, limit: float, rows: int = 64):
    """Pairs of a large block that pass the screen of :func:`_similar_pairs`.

    Titles sorted by length, a title can only match the next ones up to (200 - limit) / limit
    times its length; within that band each title's counts, in unary ("has at least k of
    character c") as bit sets, are ANDed with the others' and the bits counted. (Plain numpy
    rather than a BLAS product: BLAS threads stall on a busy two-core machine.)
    """
    members = block[np.argsort(lengths[block], kind="stable")]
    size = lengths[members]
    words, bits = _unary_words(counts[members])
    reach = (np.searchsorted(size, size * ((200 - limit) / limit), side="right") if limit > 0
             else np.full(len(size), len(size)))
    # common >= need_a + need_b; float32 is exact enough, as the screen is 0.05 points loose
    need = (limit / 200.0 * size).astype(np.float32)
    total = np.uint8 if bits < 256 else np.uint16  # what a count of common bits fits in
    for r0 in range(0, len(size) - 1, rows):
        r1 = min(r0 + rows, len(size))
        c0, c1 = r0 + 1, int(reach[r1 - 1])
        if c1 <= c0:
            continue
        common = np.zeros((r1 - r0, c1 - c0), total)
        for w in words:
            common += np.bitwise_count(w[r0:r1, None] & w[None, c0:c1])
        a, b = np.nonzero(common >= need[r0:r1, None] + need[None, c0:c1])
        a += r0
        b += c0
        once = b > a  # each pair once: the rectangle also holds pairs below the diagonal
        yield from zip(members[a[once]].tolist(), members[b[once]].tolist())


def _unary_words(counts: np.ndarray) -> tuple[np.ndarray, int]:
    """Each row of character counts in unary (count k of a bin as k one-bits), packed in 64-bit
    words: (an array of words x rows, in which popcount(a & b) summed over words is
    sum(min(a, b)) over bins; the number of bits used). A bin's bits stay in one word; bins go
    widest first into the first word with room, so little is left empty."""
    most = counts.max(axis=0).tolist()
    if max(most) > 63:  # a bin wider than a word: bit by bit
        bins = np.repeat(np.arange(len(most)), most)
        level = np.arange(sum(most)) - np.repeat(np.cumsum(most) - most, most)
        packed = np.packbits(counts[:, bins] > level, axis=1)
        padded = np.zeros((len(counts), -(-packed.shape[1] // 8) * 8), np.uint8)
        padded[:, :packed.shape[1]] = packed
        return padded.view(np.uint64).T.copy(), sum(most)
    room: list[int] = []  # bits still free in each word
    offset, word = [0] * len(most), [0] * len(most)
    for b in sorted(range(len(most)), key=most.__getitem__, reverse=True):
        k = next((k for k, free in enumerate(room) if free >= most[b]), len(room))
        if k == len(room):
            room.append(64)
        offset[b], word[b] = 64 - room[k], k
        room[k] -= most[b]
    values = (np.left_shift(np.uint64(1), counts.astype(np.uint64)) - np.uint64(1)) << np.array(offset, np.uint64)
    by_word = sorted(range(len(most)), key=word.__getitem__)
    starts = np.searchsorted(np.array(word)[by_word], np.arange(len(room)))
    return np.bitwise_or.reduceat(values[:, by_word], starts, axis=1).T.copy(), sum(most)


_FIRST_TWO_WORDS = re.compile(r"([^ \n]*(?: [^ \n]*)?)[^\n]*\n")


def _blocks(norms: list[str], counts: np.ndarray, max_block: int) -> dict[int, np.ndarray]:
    """Positions of titles sharing their first two words, their last two words, or all but
    their digits: for each block size from 2 to ``max_block``, an array with a row per block."""
    text = "\n".join(norms)
    heads = _FIRST_TWO_WORDS.findall(text + "\n")
    tails = _FIRST_TWO_WORDS.findall(text[::-1] + "\n")[::-1]  # the last two words, reversed: as good a key
    del text
    groups = [_groups(heads, max_block), _groups(tails, max_block)]
    # Titles without digits share a digit-free form only with the same title: no pairs there.
    # ASCII digits have bins of their own; any other digit is in the last bin.
    maybe = np.nonzero(counts[:, _BINS.index("0"):_BINS.index("9") + 1].any(axis=1) | (counts[:, -1] > 0))[0]
    digits = [i for i in maybe.tolist() if _HAS_DIGIT(norms[i])]
    if digits:
        where = np.array(digits, dtype=np.intp)
        text = "\n".join([norms[i] for i in digits])
        # ASCII digits: translated, then each run made one mark (the same as _DIGITS, faster)
        text = _MARKS.sub("#", text.translate(_DIGIT_MARK)) if text.isascii() else _DIGITS.sub("#", text)
        digit_free = text.split("\n")
        groups.append({m: where[rows] for m, rows in _groups(digit_free, max_block).items()})
    sizes = sorted({m for g in groups for m in g})
    return {m: np.concatenate([g[m] for g in groups if m in g]) for m in sizes}


def _groups(keys: list[str], max_block: int) -> dict[int, np.ndarray]:
    """Positions sharing a key, for keys held by 2 to ``max_block`` positions: for each such
    number of positions m, an array with a row of m positions per key."""
    if not keys:
        return {}
    codes, _ = pd.factorize(np.array(keys, dtype=object))
    sizes = np.bincount(codes)
    size = sizes[codes]
    members = np.flatnonzero((size >= 2) & (size <= max_block))
    # By block size, then by block: the blocks of one size lie together, one after another.
    members = members[np.argsort(size[members] * (len(sizes) + 1) + codes[members], kind="stable")]
    size = size[members]
    sizes, starts = np.unique(size, return_index=True)
    ends = [*starts[1:].tolist(), len(members)]
    return {m: members[a:b].reshape(-1, m) for m, a, b in zip(sizes.tolist(), starts.tolist(), ends)}


def _char_counts(norms: list[str], lengths: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """How often each character bin occurs in each title: an array of len(norms) x _NBINS."""
    counts = np.zeros((len(norms), _NBINS), np.int32)
    for start in range(0, len(norms), chunk):
        part = norms[start:start + chunk]
        text = "".join(part)
        if text.isascii():
            bins = _BIN_OF[np.frombuffer(text.encode("ascii"), np.uint8)]
        else:
            points = np.frombuffer(text.encode("utf-32-le"), np.uint32)
            bins = np.where(points < 128, _BIN_OF[np.minimum(points, 127)], _NBINS - 1)
        cells = np.repeat(np.arange(0, len(part) * _NBINS, _NBINS), lengths[start:start + chunk]) + bins
        counts[start:start + len(part)] = np.bincount(cells, minlength=len(part) * _NBINS).reshape(len(part), _NBINS)
    return counts


# --- the corpus frame ---------------------------------------------------------------------

def paper_id(title: str) -> str:
    """A stable id for a paper: a short hash of its normalised title."""
    return hashlib.sha1(normalize_title(title).encode("utf-8")).hexdigest()[:12]


def to_frame(papers: list[Paper]) -> pd.DataFrame:
    """The corpus DataFrame: one row per paper, columns :data:`CORPUS_COLUMNS`."""
    return Listings.from_papers(papers).frame()
