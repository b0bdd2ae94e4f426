"""Hugging Face "Daily Papers" page dumps: a page header, a date line, then title / abstract
lines separated by blank lines."""
from __future__ import annotations

import re
from pathlib import Path

from ..corpus import IngestIssue, IngestReport, Paper
from ._text import display_path, read_text

_HEADER_LINES = {
    "new", "get trending papers in your email inbox!", "subscribe", "daily papers",
    "byak and the research community",
}
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
_DATE = re.compile(rf"^(?:{_MONTHS})[a-z]*\.? \d{{1,2}}(?:, \d{{4}})?$")

#: A line longer than this is no abstract (real ones run to a few thousand characters).
MAX_LINE = 20_000
#: Titles are short; a line longer than this where a title is expected is an orphan abstract.
MAX_TITLE = 300
#: An abstract shorter than this that is followed by a long line is really a title.
MIN_ABSTRACT = 120


def parse_daily_papers(text: str, where: str, report: IngestReport | None = None) -> list[Paper]:
    """Papers listed on one page. ``where`` names the file in provenance (``where:line``).

    Blocks that are not a title followed by its abstract are skipped and recorded in
    ``report`` with their line and why; nothing is dropped silently.
    """
    report = report if report is not None else IngestReport()
    lines = [(n, line.strip()) for n, line in enumerate(text.split("\n"), start=1)]
    body = [(n, line) for n, line in lines if line]
    if not body:
        report.issues.append(IngestIssue(f"{where}:1", "empty file: no papers listed"))
        return []

    # The header is everything up to the first date line, if that comes before any paper.
    start = 0
    listing_date = None
    for i, (n, line) in enumerate(body[:12]):
        if _DATE.match(line):
            start, listing_date = i + 1, line
            break
        if line.casefold() not in _HEADER_LINES:
            break
    else:
        start = 0
    if listing_date is None:
        start = 0
        while start < len(body) and body[start][1].casefold() in _HEADER_LINES:
            start += 1
        report.issues.append(IngestIssue(
            f"{where}:{body[0][0]}", "no Daily Papers header or date line; read as title/abstract pairs",
            skipped=False))

    papers: list[Paper] = []
    i = start
    while i < len(body):
        n, line = body[i]
        if _DATE.match(line) or line.casefold() in _HEADER_LINES:
            # Pages saved one after another: a later page's header and date line.
            listing_date = line if _DATE.match(line) else listing_date
            i += 1
            continue
        if len(line) > MAX_LINE:
            report.issues.append(IngestIssue(
                f"{where}:{n}", f"line of {len(line):,} characters is longer than any abstract "
                f"({MAX_LINE:,}); skipped it (split it or shorten it to keep it)"))
            i += 1
            continue
        if _looks_like_abstract(line):
            report.issues.append(IngestIssue(
                f"{where}:{n}", "abstract with no title before it: " + _preview(line)))
            i += 1
            continue
        # ``line`` is a title; its abstract is the next line, unless that is itself a title.
        nxt = body[i + 1] if i + 1 < len(body) else None
        after = body[i + 2] if i + 2 < len(body) else None
        next_is_title = nxt is not None and len(nxt[1]) < MIN_ABSTRACT and (
            after is not None and MIN_ABSTRACT <= len(after[1]) <= MAX_LINE)
        if nxt is None or next_is_title or len(nxt[1]) > MAX_LINE:
            report.issues.append(IngestIssue(f"{where}:{n}", "title with no abstract: " + _preview(line)))
            i += 1
            continue
        report.listings += 1
        if len(nxt[1]) < MIN_ABSTRACT:
            report.issues.append(IngestIssue(
                f"{where}:{nxt[0]}", f"abstract is only {len(nxt[1])} characters; check it", skipped=False))
        extra = {"listed": listing_date} if listing_date else {}
        papers.append(Paper(title=line, abstract=nxt[1], provenance=[f"{where}:{n}"], extra=extra))
        i += 2
    return papers


def _looks_like_abstract(line: str) -> bool:
    """Too long for a title, or a long line ending a sentence (titles do not end with a period)."""
    return len(line) > MAX_TITLE or (len(line) >= MIN_ABSTRACT and line.endswith("."))


def read_daily_papers(path: str | Path, report: IngestReport | None = None) -> list[Paper]:
    """Papers from one Daily Papers page file (see :func:`parse_daily_papers`)."""
    path = Path(path)
    return parse_daily_papers(read_text(path), display_path(path), report)


def _preview(text: str, width: int = 70) -> str:
    return repr(text if len(text) <= width else text[: width - 1] + "…")
