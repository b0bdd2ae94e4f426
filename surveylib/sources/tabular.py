"""CSV and JSON Lines sources: one paper per row, with at least ``title`` and ``abstract``."""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from operator import itemgetter

try:  # a JSON parser several times faster than json's, for JSON Lines files of 100,000s of rows
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - orjson is a dependency; json reads the same
    from json import loads as _loads

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

    ``text`` is the text, or pieces of it cut anywhere (what
    :func:`~surveylib.sources._text.read_pieces` gives for a big file).
    """
    report = report if report is not None else IngestReport()
    out = Listings()
    n = 0  # lines before this batch
    blank = True
    for lines in _split_lines(_cut(text) if isinstance(text, str) else text):
        rows = _plain_rows(lines)
        if rows is not None:
            # The usual batch: every line a plain, valid row. Taken as a whole; the loop below
            # would read it the same way, one line at a time.
            blank = False
            out.title.extend(rows[0])
            out.abstract.extend(rows[1])
            out.provenance.extend([[f"{where}:{k}"] for k in range(n + 1, n + len(lines) + 1)])
            report.listings += len(lines)
            n += len(lines)
            continue
        for line in lines:
            n += 1
            if not line.strip():
                continue
            blank = False
            try:
                record = _loads(line)
            except ValueError:
                try:
                    record = json.loads(line)  # what orjson refuses but json takes (NaN, huge numbers...)
                except json.JSONDecodeError as exc:
                    report.issues.append(IngestIssue(f"{where}:{n}", f"not valid JSON ({exc.msg}); line skipped"))
                    continue
                except RecursionError:
                    report.issues.append(IngestIssue(f"{where}:{n}", "not valid JSON (nested too deeply); line skipped"))
                    continue
            if type(record) is not dict:
                report.issues.append(IngestIssue(f"{where}:{n}", "line is JSON but not an object; skipped"))
                continue
            _add_record(out, record, f"{where}:{n}", report)
    if blank or (not out and not report.issues):
        report.issues.append(IngestIssue(f"{where}:1", "empty file: no papers listed"))
    return out


def _plain_rows(lines: list[str]) -> tuple[list[str], list[str]] | None:
    """(titles, abstracts) when every line is an object with just a title and an abstract that
    :func:`_add_record` keeps as they are (but for the title's spacing); None otherwise.

    Each test runs over the whole batch at C speed (map, set), as this is once per listing.
    """
    try:
        records = list(map(_loads, lines))
    except ValueError:  # a blank or bad line: the caller looks at each line
        return None
    if set(map(type, records)) != {dict} or set(map(len, records)) != {2}:
        return None
    try:
        titles = list(map(_TITLE, records))
        abstracts = list(map(_ABSTRACT, records))
    except KeyError:
        return None
    if set(map(type, titles)) != {str} or set(map(type, abstracts)) != {str}:
        return None
    titles = list(map(str.strip, titles))
    abstracts = list(map(str.strip, abstracts))
    if not (all(titles) and all(abstracts) and max(map(len, titles)) <= MAX_TITLE
            and max(map(len, abstracts)) <= MAX_ABSTRACT):
        return None
    # Titles are kept with single spaces; most have nothing else to begin with.
    if "  " in "\x1f".join(titles) or not all(map(str.isprintable, titles)):
        titles = [" ".join(t.split()) for t in titles]
    return titles, abstracts


_TITLE, _ABSTRACT = itemgetter("title"), itemgetter("abstract")


def _cut(text: str, size: int = 1 << 20) -> Iterator[str]:
    """``text`` in pieces of ``size`` characters."""
    for start in range(0, max(len(text), 1), size):
        yield text[start:start + size]


def _split_lines(pieces: Iterable[str]) -> Iterator[list[str]]:
    """The lines of the text the ``pieces`` make, a batch at a time: together they are
    ``text.split("\\n")``, without every line of a big file in memory at once."""
    carry = ""
    for piece in pieces:
        lines = piece.split("\n")
        lines[0] = carry + lines[0]
        carry = lines.pop()
        if lines:
            yield lines
    yield [carry]


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
