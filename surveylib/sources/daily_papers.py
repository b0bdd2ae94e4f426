"""Hugging Face "Daily Papers" page dumps: a page header, a date line, then title / abstract
lines separated by blank lines."""
from __future__ import annotations

import re
from itertools import compress
from pathlib import Path

from ..corpus import IngestIssue, IngestReport, Listings, Paper
from ._text import display_path, read_text

_HEADER_LINES = {
    "new", "get trending papers in your email inbox!", "subscribe", "daily papers",
    "byak and the research community",
}
_LONGEST_HEADER = max(map(len, _HEADER_LINES))
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
_DATE = re.compile(rf"^(?:{_MONTHS})[a-z]*\.? \d{{1,2}}(?:, \d{{4}})?$")

#: A line longer than this is no abstract (real ones run to a few thousand characters).
MAX_LINE = 20_000
#: Titles are short; a line longer than this where a title is expected is an orphan abstract.
MAX_TITLE = 300
#: An abstract shorter than this that is followed by a long line is really a title.
MIN_ABSTRACT = 120


def daily_papers_listings(text: str, where: str, report: IngestReport | None = None) -> Listings:
    """Papers listed on one page, as :class:`~surveylib.corpus.Listings`. ``where`` names the
    file in provenance (``where:line``).

    Blocks that are not a title followed by its abstract are skipped and recorded in
    ``report`` with their line and why; nothing is dropped silently.
    """
    report = report if report is not None else IngestReport()
    out = Listings()
    stripped = list(map(str.strip, text.split("\n")))
    numbers = list(compress(range(1, len(stripped) + 1), stripped))  # line numbers of the non-blank lines
    body = list(filter(None, stripped))
    del stripped
    if not body:
        report.issues.append(IngestIssue(f"{where}:1", "empty file: no papers listed"))
        return out

    # The header is everything up to the first date line, if that comes before any paper.
    start = 0
    listing_date = None
    for i, line in enumerate(body[:12]):
        if _DATE.match(line):
            start, listing_date = i + 1, line
            break
        if not _is_header(line):
            break
    if listing_date is None:
        start = 0
        while start < len(body) and _is_header(body[start]):
            start += 1
        report.issues.append(IngestIssue(
            f"{where}:{numbers[0]}", "no Daily Papers header or date line; read as title/abstract pairs",
            skipped=False))

    titles, abstracts = body[start::2], body[start + 1::2]
    if len(titles) == len(abstracts) and _all_plain_pairs(titles, abstracts):
        # The usual page: title, abstract, title, abstract... Taken as a whole; the loop below
        # would read it the same way, one block at a time.
        out.title, out.abstract = titles, abstracts
        out.provenance = [[f"{where}:{n}"] for n in numbers[start::2]]
        if listing_date:
            out.fields["extra"] = [{"listed": listing_date} for _ in titles]
        report.listings += len(titles)
        return out

    dates: list = []
    i = start
    while i < len(body):
        n, line = numbers[i], body[i]
        if _DATE.match(line) or _is_header(line):
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
        next_is_title = nxt is not None and len(nxt) < MIN_ABSTRACT and (
            after is not None and MIN_ABSTRACT <= len(after) <= MAX_LINE)
        if nxt is None or next_is_title or len(nxt) > MAX_LINE:
            report.issues.append(IngestIssue(f"{where}:{n}", "title with no abstract: " + _preview(line)))
            i += 1
            continue
        report.listings += 1
        if len(nxt) < MIN_ABSTRACT:
            report.issues.append(IngestIssue(
                f"{where}:{numbers[i + 1]}", f"abstract is only {len(nxt)} characters; check it", skipped=False))
        out.title.append(line)
        out.abstract.append(nxt)
        out.provenance.append([f"{where}:{n}"])
        dates.append({"listed": listing_date} if listing_date else None)
        i += 2
    if any(dates):
        out.fields["extra"] = dates
    return out


def parse_daily_papers(text: str, where: str, report: IngestReport | None = None) -> list[Paper]:
    """Papers listed on one page (see :func:`daily_papers_listings`), as Paper objects."""
    return daily_papers_listings(text, where, report).papers()


def _is_header(line: str) -> bool:
    # Case folding never shortens text, so a long line is no header line.
    return len(line) <= _LONGEST_HEADER and line.casefold() in _HEADER_LINES


def _all_plain_pairs(titles: list[str], abstracts: list[str]) -> bool:
    """Whether every title reads as a title and every abstract as a whole abstract.

    Each test runs only on the lines it can apply to: a date ends with a digit, a header
    line is short, a title that looks like an abstract is long.
    """
    if not titles:
        return True
    sizes = list(map(len, abstracts))
    if min(sizes) < MIN_ABSTRACT or max(sizes) > MAX_LINE:
        return False
    sizes = list(map(len, titles))
    if max(sizes) > MAX_TITLE:
        return False
    return not (any(t.endswith(".") for t, n in zip(titles, sizes) if n >= MIN_ABSTRACT)
                or any(_is_header(t) for t, n in zip(titles, sizes) if n <= _LONGEST_HEADER)
                or any(_DATE.match(t) for t in titles if t[-1].isdigit()))


def _looks_like_abstract(line: str) -> bool:
    """Too long for a title, or a long line ending a sentence (titles do not end with a period)."""
    return len(line) > MAX_TITLE or (len(line) >= MIN_ABSTRACT and line.endswith("."))


def read_daily_papers(path: str | Path, report: IngestReport | None = None) -> list[Paper]:
    """Papers from one Daily Papers page file (see :func:`parse_daily_papers`)."""
    path = Path(path)
    return parse_daily_papers(read_text(path), display_path(path), report)


def _preview(text: str, width: int = 70) -> str:
    return repr(text if len(text) <= width else text[: width - 1] + "…")
