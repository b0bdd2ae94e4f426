"""Bibliography entries for the HTML survey, formatted by pybtex.

``SurveyStyle`` is a pybtex formatting style (registered as the ``surveylib`` plugin): unsrt
order and numbers, web links left to the page. ``SafeHTMLBackend`` is pybtex's HTML backend
with escaped, http(s)-only link targets. ``format_entries_html(entries)`` takes
``[(key, fields)]`` in citation order and returns ``[(key, html)]``.
"""
from __future__ import annotations

import hashlib
import html as _html
import json

from pybtex.backends.html import Backend as _HTMLBackend
from pybtex.database import Entry, Person
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as _UnsrtStyle
from pybtex.style.template import FieldIsMissing, field, sentence


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) address, else None (no javascript: or data: links)."""
    if not url:
        return None
    url = url.strip()
    return url if url.lower().startswith(("http://", "https://")) else None


class SafeHTMLBackend(_HTMLBackend):
    """pybtex's HTML backend, with link targets escaped and limited to http(s)."""

    name = "surveylib-html"

    @staticmethod
    def format_href(url, text, external=False):
        url = safe_url(url)
        if not url or not text:
            return text or ""
        return f'<a href="{_html.escape(url, quote=True)}" rel="noopener">{text}</a>'


class SurveyStyle(_UnsrtStyle):
    """unsrt (numbered, in citation order) without the URL/eprint tail: the page adds its own
    link to the paper next to each entry."""

    default_label_style = "number"
    default_sorting_style = "none"

    def format_web_refs(self, e):
        return sentence[""]

    def format_title(self, e, which_field, as_sentence=True):
        # Keep the authors' capitalisation (unsrt lower-cases titles: "LMEye" -> "Lmeye").
        title = field(which_field)
        return sentence[title] if as_sentence else title


register_plugin("pybtex.style.formatting", "surveylib", SurveyStyle)
register_plugin("pybtex.backends", "surveylib-html", SafeHTMLBackend)

_PERSON_FIELDS = ("author", "editor")


def to_pybtex(key: str, fields: dict) -> Entry:
    """A pybtex Entry from ``{"ENTRYTYPE": ..., field: value}`` (as surveylib.citations.load_bib gives)."""
    etype = fields.get("ENTRYTYPE", "misc").lower()
    plain = {k: v for k, v in fields.items()
             if k != "ENTRYTYPE" and k not in _PERSON_FIELDS and k != "abstract"}
    persons = {}
    for role in _PERSON_FIELDS:
        if fields.get(role):
            persons[role] = [Person(p.strip()) for p in fields[role].replace("\n", " ").split(" and ") if p.strip()]
    return Entry(etype, fields=plain, persons=persons)


def entry_digest(key: str, fields: dict) -> str:
    """What an entry's formatting depends on, as a short hash (the key of ``memo`` below)."""
    return hashlib.sha1(json.dumps([key, fields], sort_keys=True).encode()).hexdigest()


def format_entries_html(entries: list[tuple[str, dict]], memo: dict | None = None) -> list[tuple[str, str]]:
    """Format ``[(key, fields)]`` with :class:`SurveyStyle` and :class:`SafeHTMLBackend`.

    ``memo`` ({digest of key and fields: html}, e.g. kept by the build between runs) is
    consulted first and gets every entry formatted here."""
    style = SurveyStyle()
    backend = SafeHTMLBackend()
    out = []
    for key, fields in entries:
        digest = entry_digest(key, fields)
        if memo is not None and isinstance(memo.get(digest), str):
            out.append((key, memo[digest]))
            continue
        entry = to_pybtex(key, fields)
        entry.key = key
        try:
            (formatted,) = style.format_entries([entry])
        except FieldIsMissing:
            # An entry lacking a field its type requires (an @article without journal) is
            # still listed: formatted as @misc, which requires nothing.
            entry = to_pybtex(key, {**fields, "ENTRYTYPE": "misc"})
            entry.key = key
            (formatted,) = style.format_entries([entry])
        out.append((key, formatted.text.render(backend)))
        if memo is not None:
            memo[digest] = out[-1][1]
    return out


def short_authors(fields: dict) -> str:
    """'Li', 'Li and Wang' or 'Li et al.' for narrative citations (plain text)."""
    raw = (fields.get("author") or "").replace("\n", " ")
    people = [Person(p.strip()) for p in raw.split(" and ") if p.strip()]
    if not people:
        return ""
    def last(p: Person) -> str:
        name = " ".join(p.last_names) or " ".join(p.first_names)
        return name.replace("{", "").replace("}", "")
    if raw.rstrip().endswith("and others") or len(people) > 2:
        return f"{last(people[0])} et al."
    if len(people) == 2:
        return f"{last(people[0])} and {last(people[1])}"
    return last(people[0])
