"""CSV and JSON Lines sources: one paper per row, with at least ``title`` and ``abstract``."""
from __future__ import annotations

import csv
import io
import json
import re

from ..corpus import IngestIssue, IngestReport, Paper
from ..errors import SourceError

_KNOWN = {"title", "abstract", "authors", "author", "year", "eprint", "arxiv_id", "archive_prefix",
          "archiveprefix", "primary_class", "primaryclass", "categories", "doi", "url", "entry_type",
          "published"}


def _as_list(value, sep: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in re.split(sep, str(value)) if v.strip()]


def _year(value, where: str, report: IngestReport) -> int | None:
    if value in (None, ""):
        return None
    match = re.fullmatch(r"\s*(\d{4})(?:[-/].*)?\s*", str(value))
    if not match:
        report.issues.append(IngestIssue(where, f"year {value!r} is not a year; left empty", skipped=False))
        return None
    return int(match.group(1))


#: Longest title and abstract kept (as for Daily Papers pages); longer rows are skipped and reported.
MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
# Let the csv module read a huge field so the row can be reported rather than abort the file.
csv.field_size_limit(64 * 1024 * 1024)


def record_to_paper(record: dict, where: str, report: IngestReport) -> Paper | None:
    """A Paper from one row (a dict); None, with the reason recorded, when it has no title."""
    row = {str(k).strip().lower(): v for k, v in record.items() if k is not None}
    title = str(row.get("title") or "").strip()
    abstract = str(row.get("abstract") or "").strip()
    if not title:
        report.issues.append(IngestIssue(where, "row has no title" + (" (it has an abstract)" if abstract else "")))
        return None
    if len(title) > MAX_TITLE or len(abstract) > MAX_ABSTRACT:
        what, size = ("title", len(title)) if len(title) > MAX_TITLE else ("abstract", len(abstract))
        report.issues.append(IngestIssue(
            where, f"{what} of {size:,} characters is longer than any real one "
            f"({MAX_TITLE if what == 'title' else MAX_ABSTRACT:,}); row skipped"))
        return None
    if not abstract:
        report.issues.append(IngestIssue(where, "row has no abstract; kept with an empty one", skipped=False))
    report.listings += 1
    return Paper(
        title=" ".join(title.split()),
        abstract=abstract,
        provenance=[where],
        authors=_as_list(row.get("authors", row.get("author")), r"\s+and\s+|;"),
        year=_year(row.get("year"), where, report),
        eprint=(str(row.get("eprint") or row.get("arxiv_id") or "").strip() or None),
        archive_prefix=(str(row.get("archive_prefix") or row.get("archiveprefix") or "").strip() or None),
        primary_class=(str(row.get("primary_class") or row.get("primaryclass") or "").strip() or None),
        categories=_as_list(row.get("categories"), r"[\s,;]+"),
        doi=(str(row.get("doi") or "").strip() or None),
        url=(str(row.get("url") or "").strip() or None),
        entry_type=(str(row.get("entry_type") or "").strip().lower() or None),
        published=(str(row.get("published") or "").strip() or None),
        extra={k: v for k, v in row.items() if k not in _KNOWN and v not in (None, "")},
    )


def parse_jsonl(text: str, where: str, report: IngestReport | None = None) -> list[Paper]:
    """Papers from JSON Lines text: one JSON object per line; blank lines are ignored."""
    report = report if report is not None else IngestReport()
    papers = []
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            report.issues.append(IngestIssue(f"{where}:{n}", f"not valid JSON ({exc.msg}); line skipped"))
            continue
        if not isinstance(record, dict):
            report.issues.append(IngestIssue(f"{where}:{n}", "line is JSON but not an object; skipped"))
            continue
        paper = record_to_paper(record, f"{where}:{n}", report)
        if paper:
            papers.append(paper)
    if not papers and not report.issues:
        report.issues.append(IngestIssue(f"{where}:1", "empty file: no papers listed"))
    return papers


def parse_csv(text: str, where: str, report: IngestReport | None = None) -> list[Paper]:
    """Papers from CSV text with a header row naming at least ``title`` and ``abstract``."""
    report = report if report is not None else IngestReport()
    if not text.strip():
        report.issues.append(IngestIssue(f"{where}:1", "empty file: no papers listed"))
        return []
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "title" not in fields:
        raise SourceError(f"CSV header has no 'title' column (columns: {', '.join(fields) or 'none'})",
                          where=f"{where}:1", hint="name the columns title,abstract[,authors,year,...]")
    papers = []
    try:
        for record in reader:
            # DictReader's line_num is the physical line the row ends on.
            paper = record_to_paper(record, f"{where}:{reader.line_num}", report)
            if paper:
                papers.append(paper)
    except csv.Error as exc:
        raise SourceError(f"CSV is malformed: {exc}", where=f"{where}:{reader.line_num}",
                          hint="check the quoting on that line") from None
    return papers
