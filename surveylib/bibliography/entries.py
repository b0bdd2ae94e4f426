"""Corpus rows -> bibtexparser ``Entry``/``Field`` objects (the generated side of the merge).

One paper becomes one entry: ``@misc`` unless its source gave another type; fields in a fixed
order, each present only when known. Nothing is guessed: author, year and eprint come from
the paper's own source or from the arXiv metadata cache (``bib/metadata.json``, records with
status ``found``), never from anywhere else.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
from bibtexparser import Library
from bibtexparser.model import Entry, Field

from ..corpus import normalize_title
from .latex import braced, encode_names, encode_text, encode_title, encode_verbatim

#: Field names as written, in order.
FIELD_ORDER = ["author", "title", "year", "eprint", "archivePrefix", "primaryClass", "doi", "url",
               "keywords", "abstract"]


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
    if value is None or value is pd.NA:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    if isinstance(value, (list, tuple)):
        return len(value) > 0
    return str(value).strip() != ""


def _first(*values):
    return next((v for v in values if _known(v)), None)


def _year(value) -> str | None:
    if not _known(value):
        return None
    m = re.fullmatch(r"\s*(\d{4})(?:\.0)?\s*", str(value))
    return m.group(1) if m else None


def _entry_type(value) -> str:
    if _known(value) and re.fullmatch(r"[A-Za-z]+", str(value)):
        return str(value).lower()
    return "misc"


def paper_entry(row, key: str, keywords=None, meta: dict | None = None) -> Entry:
    """One corpus row (a mapping with the corpus columns) -> an ``Entry`` with raw, braced values.

    ``keywords``: theme names for the keywords field; ``meta``: the paper's ``found`` record
    from the metadata cache, used only where the row itself has no value.
    """
    meta = meta or {}
    authors = _first(row.get("authors"), meta.get("authors"))
    eprint = _first(row.get("eprint"), meta.get("eprint"))
    values = {
        "author": encode_names([str(a) for a in authors]) if authors is not None else None,
        "title": encode_title(str(row["title"])),
        "year": _year(_first(row.get("year"), meta.get("year"))),
        "eprint": encode_verbatim(str(eprint)) if eprint is not None else None,
        "archivePrefix": None,
        "primaryClass": None,
        "doi": encode_verbatim(str(row["doi"])) if _known(row.get("doi")) else None,
        "url": None,
        "keywords": ", ".join(encode_text(str(k)) for k in keywords) if keywords else None,
        "abstract": encode_text(str(row["abstract"])) if _known(row.get("abstract")) else None,
    }
    if eprint is not None:
        prefix = _first(row.get("archive_prefix"), meta.get("archive_prefix"))
        if prefix is None and re.fullmatch(r"\d{4}\.\d{4,5}(v\d+)?|[a-z\-]+(\.[A-Z]{2})?/\d{7}(v\d+)?", str(eprint)):
            prefix = "arXiv"  # the identifier itself says so
        values["archivePrefix"] = encode_text(str(prefix)) if prefix is not None else None
        primary = _first(row.get("primary_class"), meta.get("primary_class"))
        values["primaryClass"] = encode_text(str(primary)) if primary is not None else None
    url = _first(row.get("code_url"), row.get("project_url"))
    values["url"] = encode_verbatim(str(url)) if url is not None else None
    fields = [Field(name, braced(values[name])) for name in FIELD_ORDER if values[name]]
    return Entry(_entry_type(row.get("entry_type")), key, fields)


#: The corpus columns an entry is made from (a corpus may lack the optional ones).
ENTRY_COLUMNS = ["title", "abstract", "authors", "year", "eprint", "archive_prefix", "primary_class", "doi",
                 "code_url", "project_url", "entry_type"]


def build_library(corpus: pd.DataFrame, keywords: dict | None = None, metadata: dict | None = None,
                  norms: list[str] | None = None) -> Library:
    """The generated bibliography: one entry per corpus row (which must carry a ``key``
    column, see :func:`~surveylib.bibliography.with_keys`), sorted by key ignoring case.

    ``keywords``: citation key -> theme names; ``metadata``: normalised title -> ``found``
    record (see :func:`load_metadata`); ``norms``: the normalised titles, row by row, when
    the caller has them (they are only needed to look metadata up).
    """
    keywords = keywords or {}
    metadata = found_records(metadata)
    # Only the columns an entry uses, column by column: far cheaper than to_dict("records")
    # over every column of a large corpus.
    columns = [c for c in ENTRY_COLUMNS if c in corpus.columns]
    values = [corpus[c].tolist() for c in columns]
    keys = corpus["key"].tolist()
    if metadata and norms is None:
        norms = [normalize_title(str(t)) for t in corpus["title"]]
    entries = []
    for i, row in enumerate(zip(*values)):
        row = dict(zip(columns, row))
        key = keys[i]
        meta = metadata.get(norms[i]) if metadata else None
        entries.append(paper_entry(row, key, keywords.get(key), meta))
    entries.sort(key=lambda e: (e.key.lower(), e.key))
    return Library(entries)
