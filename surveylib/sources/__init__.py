"""Reading abstract sources into one deduplicated corpus.

Entry points: :func:`read_source` (one file -> list of Paper), :func:`read_listings` (one file
-> :class:`~surveylib.corpus.Listings`, the same in columns) and :func:`ingest` (files ->
corpus DataFrame + :class:`~surveylib.corpus.IngestReport`).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..corpus import IngestIssue, IngestReport, Listings, Paper, merge_listings, near_duplicates
from ..errors import SourceError
from ..workers import paused_gc
from ._text import display_path, read_pieces, read_text
from .arxiv_atom import parse_atom
from .bibfile import parse_bib
from .daily_papers import daily_papers_listings, parse_daily_papers
from .tabular import csv_listings, jsonl_listings, parse_csv, parse_jsonl


def _bib_listings(text: str, where: str, report: IngestReport) -> Listings:
    return Listings.from_papers(parse_bib(text, where, report))


def _atom_listings(text: str, where: str, report: IngestReport) -> Listings:
    return Listings.from_papers(parse_atom(text, where, report))


#: Which parser reads a file, by its suffix: ``parser(text, where, report) -> Listings``.
PARSERS = {
    ".txt": daily_papers_listings,
    ".bib": _bib_listings,
    ".csv": csv_listings,
    ".jsonl": jsonl_listings,
    ".ndjson": jsonl_listings,
    ".xml": _atom_listings,
    ".atom": _atom_listings,
}
#: Parsers that read a file piece by piece (see read_pieces) and report an empty one themselves.
_PIECEWISE = {jsonl_listings}


def read_listings(path: str | Path, report: IngestReport | None = None, where: str | None = None) -> Listings:
    """The papers listed in one source file, parsed by its suffix (see :data:`PARSERS`), as
    :class:`~surveylib.corpus.Listings` (columns, one entry per listing).

    ``where`` is the name used in provenance (default: the path as given). Problems are
    recorded in ``report``; a file that cannot be read at all raises :class:`SourceError`.
    """
    path = Path(path)
    parser = PARSERS.get(path.suffix.lower())
    if parser is None:
        raise SourceError(f"unknown source type {path.suffix!r}", where=display_path(path),
                          hint=f"use one of {', '.join(sorted(PARSERS))}")
    report = report if report is not None else IngestReport()
    name = where or display_path(path)
    report.files.append(name)
    if parser in _PIECEWISE:
        return parser(read_pieces(path), name, report)
    text = read_text(path)
    if not text.strip():
        # Every format: an empty file lists nothing; count it rather than fail on it.
        report.issues.append(IngestIssue(f"{name}:1", "empty file: no papers listed"))
        return Listings()
    return parser(text, name, report)


def read_source(path: str | Path, report: IngestReport | None = None, where: str | None = None) -> list[Paper]:
    """The papers listed in one source file (see :func:`read_listings`), as Paper objects."""
    return read_listings(path, report, where).papers()


def ingest(paths, root: str | Path | None = None, fuzzy_threshold: float = 90.0) -> tuple[pd.DataFrame, IngestReport]:
    """Read every source in ``paths``, merge duplicate listings, and report.

    Returns ``(corpus, report)``: the corpus DataFrame (one row per paper, see
    :data:`~surveylib.corpus.CORPUS_COLUMNS`) and what ingest did. Provenance paths are
    relative to ``root`` when given.
    """
    report = IngestReport()
    listings = Listings()
    base = Path(root).resolve() if root is not None else None
    folders: dict[Path, Path] = {}  # each folder resolved once, not once per page file in it
    with paused_gc():
        for path in paths:
            path = Path(path)
            where = None
            if base is not None:
                folder = folders.get(path.parent)
                if folder is None:
                    folder = folders[path.parent] = path.parent.resolve()
                full = folder / path.name if path.name not in ("", ".", "..") and not path.is_symlink() else path.resolve()
                try:
                    where = str(full.relative_to(base))
                except ValueError:
                    where = None
            listings.extend(read_listings(path, report, where))
        papers, norms = merge_listings(listings, report)
        del listings  # the merged listings are all that is needed from here; free the rest early
        report.papers = len(papers)
        report.near_duplicates = near_duplicates(papers.title, fuzzy_threshold, norms=norms)
        return papers.frame(norms, copy=False), report


__all__ = ["PARSERS", "read_source", "read_listings", "ingest", "parse_daily_papers", "parse_bib", "parse_csv",
           "parse_jsonl", "parse_atom"]
