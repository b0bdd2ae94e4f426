"""CSV and JSON Lines sources: one paper per row, with at least ``title`` and ``abstract``."""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable

from ..corpus import IngestIssue, IngestReport, Listings, Paper
from ..errors import SourceError

_KNOWN = {"title", "abstract", "authors", "author", "year", "eprint", "arxiv_id", "archive_prefix",
          "archiveprefix", "primary_class", "primaryclass", "categories", "doi", "url", "entry_type",
          "published"}
_PLAIN = frozenset(("title", "abstract"))


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


def _add_record(out: Listings, record: dict, where: str, report: IngestReport) -> None:
    """Add one row to ``out`` (see :func:`record_to_paper`), a plain title-and-abstract row
    without building a Paper for it."""
    if record.keys() <= _PLAIN:
        title, abstract = record.get("title"), record.get("abstract")
        if type(title) is str and type(abstract) is str:
            title, abstract = title.strip(), abstract.strip()
            if title and abstract and len(title) <= MAX_TITLE and len(abstract) <= MAX_ABSTRACT:
                report.listings += 1
                out.title.append(" ".join(title.split()))
                out.abstract.append(abstract)
                out.provenance.append([where])
                return
    paper = record_to_paper(record, where, report)
    if paper:
        out.append(paper)


def jsonl_listings(text: str | Iterable[str], where: str, report: IngestReport | None = None) -> Listings:
    """Papers from JSON Lines text: one JSON object per line; blank lines are ignored.

    ``text`` is the text, or pieces of it that ``"\\n".join`` would make it from (what
    :func:`~surveylib.sources._text.read_pieces` gives for a big file).
    """
    report = report if report is not None else IngestReport()
    out = Listings()
    titles, abstracts, provenance = out.title, out.abstract, out.provenance
    plain = 0
    n = 0
    blank = True
    for window in (_line_windows(text) if isinstance(text, str) else text):
        for line in window.split("\n"):
            n += 1
            if not line.strip():
                continue
            blank = False
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                report.issues.append(IngestIssue(f"{where}:{n}", f"not valid JSON ({exc.msg}); line skipped"))
                continue
            except RecursionError:
                report.issues.append(IngestIssue(f"{where}:{n}", "not valid JSON (nested too deeply); line skipped"))
                continue
            if type(record) is not dict:
                report.issues.append(IngestIssue(f"{where}:{n}", "line is JSON but not an object; skipped"))
                continue
            # Inline _add_record's plain case: this loop runs once per listing.
            if record.keys() <= _PLAIN:
                title, abstract = record.get("title"), record.get("abstract")
                if type(title) is str and type(abstract) is str:
                    title, abstract = title.strip(), abstract.strip()
                    if title and abstract and len(title) <= MAX_TITLE and len(abstract) <= MAX_ABSTRACT:
                        plain += 1
                        titles.append(" ".join(title.split()))
                        abstracts.append(abstract)
                        provenance.append([f"{where}:{n}"])
                        continue
            _add_record(out, record, f"{where}:{n}", report)
    report.listings += plain
    if blank or (not out and not report.issues):
        report.issues.append(IngestIssue(f"{where}:1", "empty file: no papers listed"))
    return out


def _line_windows(text: str, size: int = 1 << 20):
    """``text`` in pieces of about ``size`` characters cut at newlines, so that splitting each
    piece into lines gives ``text.split("\\n")`` without every line of a big file at once."""
    start = 0
    while True:
        cut = text.find("\n", start + size) if start + size < len(text) else -1
        if cut == -1:
            yield text[start:]
            return
        yield text[start:cut]
        start = cut + 1


def parse_jsonl(text: str, where: str, report: IngestReport | None = None) -> list[Paper]:
    """Papers from JSON Lines text (see :func:`jsonl_listings`), as Paper objects."""
    return jsonl_listings(text, where, report).papers()


def csv_listings(text: str, where: str, report: IngestReport | None = None) -> Listings:
    """Papers from CSV text with a header row naming at least ``title`` and ``abstract``."""
    report = report if report is not None else IngestReport()
    out = Listings()
    if not text.strip():
        report.issues.append(IngestIssue(f"{where}:1", "empty file: no papers listed"))
        return out
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "title" not in fields:
        raise SourceError(f"CSV header has no 'title' column (columns: {', '.join(fields) or 'none'})",
                          where=f"{where}:1", hint="name the columns title,abstract[,authors,year,...]")
    try:
        for record in reader:
            # DictReader's line_num is the physical line the row ends on.
            _add_record(out, record, f"{where}:{reader.line_num}", report)
    except csv.Error as exc:
        raise SourceError(f"CSV is malformed: {exc}", where=f"{where}:{reader.line_num}",
                          hint="check the quoting on that line") from None
    return out


def parse_csv(text: str, where: str, report: IngestReport | None = None) -> list[Paper]:
    """Papers from CSV text (see :func:`csv_listings`), as Paper objects."""
    return csv_listings(text, where, report).papers()
