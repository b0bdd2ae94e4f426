"""The data model: a Paper, the ingest report, and the deduplicated Corpus as a DataFrame."""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

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


def normalize_title(title: str) -> str:
    """The form titles are matched on: Unicode NFKC, case-folded, accents, punctuation,
    braces and whitespace removed; digits kept ("Llama 2" != "Llama 3")."""
    if title.isascii():
        # Fast path (most titles): NFKC and accent stripping change nothing in ASCII.
        text = title.lower()
    else:
        text = unicodedata.normalize("NFKD", title)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
        text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD.findall(text))


# --- urls ---------------------------------------------------------------------------------

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "huggingface.co", "codeberg.org", "gitee.com")


def _trim_url(url: str) -> str:
    # Abstracts end URLs with sentence punctuation, or close a bracket the URL never opened.
    while url and url[-1] in ".,;:!?'\"}]>*":
        url = url[:-1]
    while url.endswith(")") and url.count("(") < url.count(")"):
        url = url[:-1]
    return url


def find_urls(text: str) -> list[str]:
    """URLs mentioned in ``text``, in order, trailing punctuation trimmed, each once."""
    seen: list[str] = []
    if not text or ("://" not in text and "www." not in text.lower()):
        return seen  # most abstracts: skip the regex scan
    for match in _URL.findall(text):
        url = _trim_url(match)
        if url.lower().startswith("www."):
            url = "https://" + url
        if len(url) > len("https://x.y") and url not in seen:
            seen.append(url)
    return seen


def code_and_project_url(urls: list[str]) -> tuple[str | None, str | None]:
    """Split URLs into the first code repository and the first other (project page) link."""
    if not urls:
        return None, None
    code = next((u for u in urls if any(h in u.lower() for h in _CODE_HOSTS)), None)
    project = next((u for u in urls if u != code and not any(h in u.lower() for h in _CODE_HOSTS)), None)
    return code, project


# --- dedup --------------------------------------------------------------------------------

_LIST_FIELDS = ("authors", "categories")
_SCALAR_FIELDS = ("year", "eprint", "archive_prefix", "primary_class", "doi", "url", "entry_type", "published")


def _merge_into(kept: Paper, other: Paper, report: IngestReport) -> None:
    kept.provenance.extend(other.provenance)
    if not kept.abstract and other.abstract:
        kept.abstract = other.abstract
    elif (other.abstract and other.abstract != kept.abstract
          and normalize_title(other.abstract) != normalize_title(kept.abstract)):
        report.issues.append(IngestIssue(
            other.provenance[0] if other.provenance else "?",
            f"same title as {kept.provenance[0]} but a different abstract; kept the first",
            skipped=False,
        ))
    for name in _LIST_FIELDS:
        if not getattr(kept, name) and getattr(other, name):
            setattr(kept, name, list(getattr(other, name)))
    for name in _SCALAR_FIELDS:
        if getattr(kept, name) in (None, "") and getattr(other, name) not in (None, ""):
            setattr(kept, name, getattr(other, name))
    for k, v in other.extra.items():
        kept.extra.setdefault(k, v)


def dedupe(papers: list[Paper], report: IngestReport | None = None) -> list[Paper]:
    """Merge listings with the same normalised title, keeping the first listing's text and
    every listing's provenance; metadata missing from the first is filled from later ones."""
    report = report if report is not None else IngestReport()
    by_title: dict[str, Paper] = {}
    for paper in papers:
        norm = normalize_title(paper.title)
        if norm in by_title:
            _merge_into(by_title[norm], paper, report)
            report.duplicates_merged += 1
        else:
            # A shallow copy (cheaper than Paper(**...)) with its own lists, so the input is untouched.
            kept = object.__new__(Paper)
            kept.__dict__.update(paper.__dict__)
            kept.provenance, kept.extra = list(paper.provenance), dict(paper.extra)
            kept.authors, kept.categories = list(paper.authors), list(paper.categories)
            by_title[norm] = kept
    return list(by_title.values())


_DIGITS = re.compile(r"\d+")


def near_duplicates(titles: list[str], threshold: float = 90.0, max_block: int = 400) -> list[tuple[str, str, float]]:
    """Pairs of distinct titles similar enough to be the same paper (fuzzy ratio >= threshold).

    Only candidates: nothing is merged. Comparisons run within blocks of titles that share
    their first or last two words, or differ only in digits, so the cost stays near linear.
    """
    norms = [normalize_title(t) for t in titles]
    blocks: dict[tuple, list[int]] = defaultdict(list)
    for i, n in enumerate(norms):
        words = n.split()
        blocks[("head", *words[:2])].append(i)
        blocks[("tail", *words[-2:])].append(i)
        blocks[("nodigits", _DIGITS.sub("#", n))].append(i)
    found: dict[tuple[int, int], float] = {}
    for block in blocks.values():
        if len(block) < 2 or len(block) > max_block:
            continue
        strings = [norms[i] for i in block]
        # Large blocks (a common last phrase) use every core; small ones are not worth a thread.
        scores = cdist(strings, strings, scorer=fuzz.ratio, score_cutoff=threshold,
                       workers=-1 if len(block) > 64 else 1)
        # Only the upper triangle's non-zero cells (scores under the cutoff come back as 0).
        for a, b in zip(*np.nonzero(np.triu(scores, k=1))):
            i, j = block[a], block[b]
            if norms[i] != norms[j]:
                found[(min(i, j), max(i, j))] = float(scores[a, b])
    return [(titles[i], titles[j], s) for (i, j), s in sorted(found.items())]


def paper_id(title: str) -> str:
    """A stable id for a paper: a short hash of its normalised title."""
    import hashlib

    return hashlib.sha1(normalize_title(title).encode("utf-8")).hexdigest()[:12]


def to_frame(papers: list[Paper]) -> pd.DataFrame:
    """The corpus DataFrame: one row per paper, columns :data:`CORPUS_COLUMNS`."""
    # Built column by column: a dict per row costs more memory than the corpus itself at 100k papers.
    cols: dict[str, list] = {name: [] for name in CORPUS_COLUMNS}
    for p in papers:
        urls = find_urls(p.abstract)
        if p.url and p.url not in urls:
            urls.insert(0, p.url)
        code, project = code_and_project_url(urls)
        for name, value in (
            ("paper_id", paper_id(p.title)), ("title", p.title), ("abstract", p.abstract), ("urls", urls),
            ("code_url", code), ("project_url", project), ("provenance", list(p.provenance)),
            ("authors", list(p.authors)), ("year", p.year), ("eprint", p.eprint),
            ("archive_prefix", p.archive_prefix), ("primary_class", p.primary_class),
            ("categories", list(p.categories)), ("doi", p.doi), ("entry_type", p.entry_type),
            ("published", p.published), ("extra", dict(p.extra)),
        ):
            cols[name].append(value)
    frame = pd.DataFrame(cols, columns=CORPUS_COLUMNS)
    frame["year"] = frame["year"].astype("Int64")
    return frame
