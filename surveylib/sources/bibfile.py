"""An existing BibTeX file as a source: each entry becomes a Paper, LaTeX decoded to Unicode."""
from __future__ import annotations

import re

import bibtexparser
from bibtexparser import middlewares as m

from ..corpus import IngestIssue, IngestReport, Paper


_LOOKS_LIKE_ENTRY = re.compile(r"\w+\s*\{[^{}=]*,\s*\w+\s*=")


def _report_has(report: IngestReport, where: str) -> bool:
    """Whether ``report`` already holds an issue in the file ``where``."""
    return any(i.where.rsplit(":", 1)[0] == where for i in report.issues)


def _plain(value: str) -> str:
    return " ".join(value.replace("{", "").replace("}", "").split())


def parse_bib(text: str, where: str, report: IngestReport | None = None) -> list[Paper]:
    """Papers from BibTeX text. Blocks bibtexparser cannot parse are reported with their line."""
    report = report if report is not None else IngestReport()
    library = bibtexparser.parse_string(text, append_middleware=[m.LatexDecodingMiddleware()])
    for block in library.failed_blocks:
        report.issues.append(IngestIssue(f"{where}:{block.start_line + 1}",
                                         f"BibTeX block could not be parsed ({type(block).__name__}); skipped"))
    for block in library.blocks:
        # bibtexparser keeps text outside entries as a comment; an entry missing its "@" lands there.
        if type(block).__name__ == "ImplicitComment" and _LOOKS_LIKE_ENTRY.search(block.comment or ""):
            report.issues.append(IngestIssue(
                f"{where}:{block.start_line + 1}",
                "text outside any entry looks like an entry (missing '@'?); skipped"))
    if not library.entries and not _report_has(report, where):
        report.issues.append(IngestIssue(f"{where}:1", "no BibTeX entries found"))
    papers = []
    for entry in library.entries:
        fields = {f.key.lower(): str(f.value) for f in entry.fields}
        loc = f"{where}:{entry.start_line + 1}"
        title = _plain(fields.get("title", ""))
        if not title:
            report.issues.append(IngestIssue(loc, f"entry {entry.key!r} has no title; skipped"))
            continue
        year = re.match(r"\d{4}", fields.get("year", "").strip())
        report.listings += 1
        papers.append(Paper(
            title=title,
            abstract=" ".join(fields.get("abstract", "").split()),
            provenance=[loc],
            authors=[a.strip() for a in re.split(r"\s+and\s+", fields.get("author", "")) if a.strip()],
            year=int(year.group()) if year else None,
            eprint=fields.get("eprint") or None,
            archive_prefix=fields.get("archiveprefix") or fields.get("eprinttype") or None,
            primary_class=fields.get("primaryclass") or None,
            doi=fields.get("doi") or None,
            url=fields.get("url") or None,
            entry_type=entry.entry_type.lower(),
            extra={"source_key": entry.key},
        ))
    return papers
