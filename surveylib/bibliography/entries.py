"""Corpus rows -> bibtexparser ``Entry``/``Field`` objects (the generated side of the merge).

One paper becomes one entry: ``@misc`` unless its source gave another type; fields in a fixed
order, each present only when known. Nothing is guessed: author, year and eprint come from
the paper's own source or from the arXiv metadata cache (``bib/metadata.json``, records with
status ``found``), never from anywhere else.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from bibtexparser import Library
from bibtexparser.model import Entry, Field

from ..corpus import normalize_titles
from .latex import encode_names, encode_text, encode_title, encode_verbatim

#: Field names as written, in order.
FIELD_ORDER = ["author", "title", "year", "eprint", "archivePrefix", "primaryClass", "doi", "url",
               "keywords", "abstract"]


#: The corpus columns an entry is made from (a corpus may lack the optional ones).
ENTRY_COLUMNS = ["title", "abstract", "authors", "year", "eprint", "archive_prefix", "primary_class", "doi",
                 "code_url", "project_url", "entry_type"]


def load_metadata(path: str | Path) -> dict[str, dict]:
    """The arXiv metadata cache as {normalised title: record}, keeping only records with
    status ``found``. A missing file is no metadata; a corrupt one is an error naming it."""
    # The cache's reader and validator live with its writer (surveylib.enrich); imported
    # here, not at module top, so the bibliography does not load the HTTP client.
    from ..enrich import load_metadata as read_cache

    return found_records(read_cache(path))


def found_records(metadata: dict | None) -> dict[str, dict]:
    """Only the usable records of a metadata cache dict (either the whole file or its 'papers')."""
    if not metadata:
        return {}
    papers = metadata["papers"] if isinstance(metadata.get("papers"), dict) else metadata
    return {k: v for k, v in papers.items() if isinstance(v, dict) and v.get("status") == "found"}


def _known(value) -> bool:
    if type(value) is str:  # most values: skip the checks below
        return value.strip() != ""
    if value is None or value is pd.NA:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    if isinstance(value, (list, tuple)):
        return len(value) > 0
    return str(value).strip() != ""


def _first(*values):
    return next((v for v in values if _known(v)), None)


_YEAR = re.compile(r"\s*(\d{4})(?:\.0)?\s*")
_TYPE = re.compile(r"[A-Za-z]+")
_ARXIV_ID = re.compile(r"\d{4}\.\d{4,5}(v\d+)?|[a-z\-]+(\.[A-Z]{2})?/\d{7}(v\d+)?")


def _year(value) -> str | None:
    if not _known(value):
        return None
    m = _YEAR.fullmatch(str(value))
    return m.group(1) if m else None


def _entry_type(value) -> str:
    if _known(value) and _TYPE.fullmatch(str(value)):
        return str(value).lower()
    return "misc"


def _known_or_none(values: list) -> list:
    # A string is known when not blank; anything else goes through _known.
    return [v if (v.strip() if type(v) is str else _known(v)) else None for v in values]


def _each(function, values: list) -> list:
    # ``function`` of each known value as text (str(value), without the call for a str).
    return [None if v is None else function(v if type(v) is str else str(v)) for v in values]


def _field_texts(columns: dict[str, list], keys: list[str], keywords: list,
                 metas: list | None) -> tuple[list[str], list[tuple[str, list]]]:
    """The entries of many papers at once, field by field over whole columns (the per-paper
    rules of :func:`paper_entry`, without a function call per paper and field): the entry
    type of each paper, and per field present in any (in :data:`FIELD_ORDER`) its text in
    each paper, without the enclosing braces ('' or None: the paper has no such field).

    ``columns``: corpus column -> values, one per paper (missing columns are unknown);
    ``keywords``: theme names per paper (or None); ``metas``: each paper's ``found``
    metadata record (or None), or None when there is no metadata at all.
    """
    n = len(keys)
    unknown = [None] * n  # a column no paper has a value in (shared, never modified)

    def known(name):  # the paper's own value, else the metadata's
        values = _known_or_none(columns[name]) if name in columns else unknown
        if metas is None:
            return values
        return [v if v is not None or m is None else _first(m.get(name)) for v, m in zip(values, metas)]

    def each(function, values):
        return unknown if values is unknown else _each(function, values)

    authors, eprints = known("authors"), known("eprint")
    prefixes, primaries = known("archive_prefix"), known("primary_class")
    if eprints is not unknown:
        prefixes = list(prefixes)
        for i, eprint in enumerate(eprints):
            if eprint is not None and prefixes[i] is None and _ARXIV_ID.fullmatch(str(eprint)):
                prefixes[i] = "arXiv"  # the identifier itself says so
    with_eprint = (lambda values: unknown if eprints is unknown else  # noqa: E731
                   [None if e is None else v for v, e in zip(values, eprints)])
    code, project = (_known_or_none(columns[c]) if c in columns else unknown for c in ("code_url", "project_url"))
    urls = project if code is unknown else code if project is unknown else \
        [c if c is not None else p for c, p in zip(code, project)]
    values = {
        "author": unknown if authors is unknown else
        [None if a is None else encode_names([str(x) for x in a]) for a in authors],
        "title": [encode_title(t if type(t) is str else str(t)) for t in columns["title"]],
        "year": each(_year, known("year")),
        "eprint": each(encode_verbatim, eprints),
        "archivePrefix": each(encode_text, with_eprint(prefixes)),
        "primaryClass": each(encode_text, with_eprint(primaries)),
        "doi": each(encode_verbatim, _known_or_none(columns["doi"]) if "doi" in columns else unknown),
        "url": each(encode_verbatim, urls),
        "keywords": [", ".join(encode_text(str(k)) for k in kw) if kw else None for kw in keywords],
        "abstract": each(encode_text, _known_or_none(columns["abstract"]) if "abstract" in columns else unknown),
    }
    types = [_entry_type(t) for t in columns["entry_type"]] if "entry_type" in columns else ["misc"] * n
    return types, [(name, values[name]) for name in FIELD_ORDER if any(values[name])]


@dataclass
class GeneratedEntries:
    """The generated bibliography as plain data, sorted by key: each entry's type and key,
    and per field (in :data:`FIELD_ORDER`) each entry's field text without its enclosing
    braces ('' or None: no such field). :meth:`library` makes the bibtexparser entries the
    merge works on; :func:`~surveylib.bibliography.files.format_generated_bytes` writes the
    same text as :func:`~surveylib.bibliography.files.format_bib` would from them."""

    types: list[str]
    keys: list[str]
    fields: list[tuple[str, list]]

    def __len__(self) -> int:
        return len(self.keys)

    def rows(self):
        """(type, key, field texts in the order of ``fields``) per entry."""
        return zip(self.types, self.keys, zip(*(values for _, values in self.fields)) if self.fields
                   else ((),) * len(self.keys))

    def library(self) -> Library:
        """The entries as a bibtexparser Library (raw values, enclosing braces kept)."""
        names = [name for name, _ in self.fields]
        entries = [Entry(t, k, [Field(name, "{" + v + "}") for name, v in zip(names, row) if v])
                   for t, k, row in self.rows()]
        if len(set(self.keys)) != len(self.keys):  # bibtexparser's own check, at set speed
            raise ValueError(f"Duplicate keys found: {sorted({k for k in self.keys if self.keys.count(k) > 1})}")
        library = Library()
        library.add(entries, fail_on_duplicate_key=False)
        return library


def paper_entry(row, key: str, keywords=None, meta: dict | None = None) -> Entry:
    """One corpus row (a mapping with the corpus columns) -> an ``Entry`` with raw, braced values.

    Fields in :data:`FIELD_ORDER`, each only when known; ``keywords``: theme names for the
    keywords field; ``meta``: the paper's ``found`` record from the metadata cache, used
    only where the row itself has no value.
    """
    columns = {name: [row.get(name)] for name in ENTRY_COLUMNS}
    columns["title"] = [row["title"]]
    types, fields = _field_texts(columns, [key], [keywords], [meta or {}])
    return GeneratedEntries(types, [key], fields).library().entries[0]


def generate_entries(corpus: pd.DataFrame, keywords: dict | None = None, metadata: dict | None = None,
                     norms: list[str] | None = None, keys: list[str] | None = None) -> GeneratedEntries:
    """The generated bibliography as plain data (see :class:`GeneratedEntries`): one entry
    per corpus row, sorted by key ignoring case. Arguments as for :func:`build_library`."""
    keywords = keywords or {}
    metadata = found_records(metadata)
    # Only the columns an entry uses, as plain lists: far cheaper than to_dict("records").
    # A column with no value at all (eprint, doi, ... in most sources) counts as missing.
    columns = {c: corpus[c].tolist() for c in ENTRY_COLUMNS
               if c in corpus.columns and (c == "title" or corpus[c].notna().any())}
    keys = corpus["key"].tolist() if keys is None else list(keys)
    metas = None
    if metadata:
        if norms is None:
            norms = normalize_titles([str(t) for t in columns["title"]])
        metas = [metadata.get(n) for n in norms]
    types, fields = _field_texts(columns, keys, [keywords.get(k) for k in keys], metas)
    # Sorted by the plain key list, ignoring case, then by the key; stable, as a sort of the
    # entries. Keys are normally unique ignoring case, and then the lower-case key decides.
    lowered = [k.lower() for k in keys]
    if len(set(lowered)) == len(lowered):
        order = sorted(range(len(keys)), key=lowered.__getitem__)
    else:
        order = sorted(range(len(keys)), key=lambda i: (lowered[i], keys[i]))
    return GeneratedEntries([types[i] for i in order], [keys[i] for i in order],
                            [(name, [values[i] for i in order]) for name, values in fields])


def build_library(corpus: pd.DataFrame, keywords: dict | None = None, metadata: dict | None = None,
                  norms: list[str] | None = None, keys: list[str] | None = None) -> Library:
    """The generated bibliography: one entry per corpus row (which must carry a ``key``
    column, see :func:`~surveylib.bibliography.with_keys`, unless ``keys`` gives the keys
    row by row), sorted by key ignoring case.

    ``keywords``: citation key -> theme names; ``metadata``: normalised title -> ``found``
    record (see :func:`load_metadata`); ``norms``: the normalised titles, row by row, when
    the caller has them (they are only needed to look metadata up).
    """
    return generate_entries(corpus, keywords, metadata, norms, keys).library()
