"""Reading abstract sources into one deduplicated corpus.

Entry points: :func:`read_source` (one file -> list of Paper) and :func:`ingest`
(files -> corpus DataFrame + :class:`~surveylib.corpus.IngestReport`).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..corpus import IngestIssue, IngestReport, Paper, dedupe, near_duplicates, to_frame
from ..errors import SourceError
from ._text import display_path, read_text
from .arxiv_atom import parse_atom
from .bibfile import parse_bib
from .daily_papers import parse_daily_papers
from .tabular import parse_csv, parse_jsonl

#: Which parser reads a file, by its suffix.
PARSERS = {
    ".txt": parse_daily_papers,
    ".bib": parse_bib,
    ".csv": parse_csv,
    ".jsonl": parse_jsonl,
    ".ndjson": parse_jsonl,
    ".xml": parse_atom,
    ".atom": parse_atom,
}


def read_source(path: str | Path, report: IngestReport | None = None, where: str | None = None) -> list[Paper]:
    """The papers listed in one source file, parsed by its suffix (see :data:`PARSERS`).

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
    text = read_text(path)
    if not text.strip():
        # Every format: an empty file lists nothing; count it rather than fail on it.
        report.issues.append(IngestIssue(f"{name}:1", "empty file: no papers listed"))
        return []
    return parser(text, name, report)


def ingest(paths, root: str | Path | None = None, fuzzy_threshold: float = 90.0) -> tuple[pd.DataFrame, IngestReport]:
    """Read every source in ``paths``, merge duplicate listings, and report.

    Returns ``(corpus, report)``: the corpus DataFrame (one row per paper, see
    :data:`~surveylib.corpus.CORPUS_COLUMNS`) and what ingest did. Provenance paths are
    relative to ``root`` when given.
    """
    report = IngestReport()
    listings: list[Paper] = []
    for path in paths:
        path = Path(path)
        where = None
        if root is not None:
            try:
                where = str(path.resolve().relative_to(Path(root).resolve()))
            except ValueError:
                where = None
        listings.extend(read_source(path, report, where))
    papers = dedupe(listings, report)
    del listings  # the merged copies are all that is needed from here; free the rest early
    report.papers = len(papers)
    report.near_duplicates = near_duplicates([p.title for p in papers], fuzzy_threshold)
    return to_frame(papers), report


__all__ = ["PARSERS", "read_source", "ingest", "parse_daily_papers", "parse_bib", "parse_csv",
           "parse_jsonl", "parse_atom"]
