"""arXiv API responses (Atom XML): entries with ids, authors, dates and categories."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.parsers import expat

from ..corpus import IngestIssue, IngestReport, Paper
from ..errors import SourceError

NS = {"atom": "http://www.w3.org/2005/Atom", "arxiv": "http://arxiv.org/schemas/atom",
      "opensearch": "http://a9.com/-/spec/opensearch/1.1/"}
_ID = re.compile(r"arxiv\.org/abs/(?P<id>.+?)(?:v\d+)?$")


def _text(el, path: str) -> str:
    found = el.find(path, NS)
    return " ".join((found.text or "").split()) if found is not None else ""


def _entry_lines(text: str) -> list[int]:
    """The line each top-level ``<entry>`` starts on (ElementTree keeps no line numbers)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    lines: list[int] = []
    depth = 0

    def start(name, _attrs):
        nonlocal depth
        depth += 1
        if depth == 2 and name == f"{NS['atom']} entry":
            lines.append(parser.CurrentLineNumber)

    def end(_name):
        nonlocal depth
        depth -= 1

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.Parse(text, True)
    return lines


def parse_atom(text: str, where: str = "<atom>", report: IngestReport | None = None) -> list[Paper]:
    """Papers from an arXiv API Atom feed, keeping authors, year, eprint, primary class,
    categories, DOI and the abs url. Raises :class:`SourceError` on XML that is not a feed."""
    report = report if report is not None else IngestReport()
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else 1
        raise SourceError(f"not well-formed Atom XML ({exc})", where=f"{where}:{line}",
                          hint="is this an arXiv API response?") from None
    if root.tag != f"{{{NS['atom']}}}feed":
        raise SourceError(f"root element is {root.tag!r}, not an Atom <feed>", where=where)
    papers = []
    entries = root.findall("atom:entry", NS)
    lines = _entry_lines(text)
    for index, entry in enumerate(entries):
        loc = f"{where}:{lines[index]}" if len(lines) == len(entries) else f"{where}#entry{index + 1}"
        title = _text(entry, "atom:title")
        if not title or title.lower() == "error":
            report.issues.append(IngestIssue(loc, "entry has no title (an API error entry?); skipped"))
            continue
        abs_url = _text(entry, "atom:id")
        match = _ID.search(abs_url)
        published = _text(entry, "atom:published")
        primary = entry.find("arxiv:primary_category", NS)
        report.listings += 1
        papers.append(Paper(
            title=title,
            abstract=_text(entry, "atom:summary"),
            provenance=[loc],
            authors=[_text(a, "atom:name") for a in entry.findall("atom:author", NS) if _text(a, "atom:name")],
            year=int(published[:4]) if re.match(r"\d{4}", published) else None,
            eprint=match.group("id") if match else None,
            archive_prefix="arXiv" if match else None,
            primary_class=primary.get("term") if primary is not None else None,
            categories=[c.get("term") for c in entry.findall("atom:category", NS) if c.get("term")],
            doi=_text(entry, "arxiv:doi") or None,
            url=(f"https://arxiv.org/abs/{match.group('id')}" if match else abs_url) or None,
            published=published or None,
        ))
    return papers
