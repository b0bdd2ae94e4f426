"""Pandoc-style citations in survey text: find them, check them, rewrite them.

Authors cite as Pandoc does: ``[@key]``, ``[@a; @b]``, ``[see @a, p. 3]`` and the narrative
form ``@key``. This module is pure text in, text out: :func:`find_citations` returns
:class:`Citation` records, :func:`replace_citations` rewrites each one with a function the
caller supplies (HTML links, LaTeX ``\\cite``), and it never touches code spans, fenced code,
link targets, HTML tags or math, so ``user@example.com`` or ``@property`` in code stay text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .errors import SurveyError

# Pandoc: a key starts with a letter, digit or _, and may hold internal punctuation
# (:.#$%&-+?<>~/) when an alphanumeric follows it, so a trailing "." or "," ends the key.
_KEY = r"(?:\{(?P<bkey>[^{}\s]+)\}|(?P<key>[\w](?:[\w]|[:.#$%&\-+?<>~/](?=[\w]))*))"
_KEY_RE = re.compile(r"(?P<minus>-?)@" + _KEY)
# Narrative @key: the @ must not follow a word character or URL/e-mail punctuation.
_NARRATIVE_RE = re.compile(r"(?<![\w@\\/.:+=&%#~\-`'\"])@" + _KEY)
_BRACKET_RE = re.compile(r"(?<![\\!\]])\[(?P<body>[^\[\]]*@[^\[\]]*)\](?![(\[:])")

# Regions that are never prose: fenced code, inline code, math, HTML comments, code/pre/script/
# style elements, any other HTML tag (so attributes stay untouched), autolinks, whole links.
_PROTECTED_RE = re.compile(
    r"""
    (?P<fence>^[ \t]*(?P<f>`{3,}|~{3,})[^\n]*\n.*?(?:^[ \t]*(?P=f)[ \t]*$|\Z))
    | (?P<code>(?P<bt>`+).+?(?<!`)(?P=bt)(?!`))
    | (?P<dmath>\$\$.+?\$\$)
    | (?P<imath>(?<![\\$\w])\$(?=\S)[^$\n]+?(?<=\S)\$(?![\w$]))
    | (?P<comment><!--.*?-->)
    | (?P<element><(?P<tag>code|pre|script|style|kbd|samp|math)\b[^>]*>.*?</(?P=tag)\s*>)
    | (?P<htmltag></?[A-Za-z][^<>]*>)
    | (?P<autolink><[A-Za-z][A-Za-z0-9+.\-]*:[^<>\s]*>)
    | (?P<link>!?\[[^\[\]]*\]\([^)\s]*(?:\s+"[^"]*")?\))
    """,
    re.VERBOSE | re.DOTALL | re.MULTILINE | re.IGNORECASE,
)


@dataclass(frozen=True)
class CiteItem:
    """One cited key with the text around it inside a bracket (``[see @a, p. 3]``)."""

    key: str
    prefix: str = ""
    suffix: str = ""
    suppress_author: bool = False


@dataclass(frozen=True)
class Citation:
    """One citation in a text: ``items`` in the order written; ``narrative`` for a bare ``@key``."""

    items: tuple[CiteItem, ...]
    narrative: bool
    start: int
    end: int
    text: str

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(item.key for item in self.items)


def _key_of(match: re.Match) -> str:
    return match.group("bkey") or match.group("key")


def _parse_bracket(body: str) -> tuple[CiteItem, ...] | None:
    """The items of ``[body]`` if every ``;``-separated part holds exactly one key, else None."""
    items = []
    for part in body.split(";"):
        found = [m for m in _KEY_RE.finditer(part)
                 if m.start() == 0 or not (part[m.start() - 1].isalnum() or part[m.start() - 1] in "@\\/.:")]
        if len(found) != 1:
            return None
        m = found[0]
        items.append(CiteItem(key=_key_of(m), prefix=part[: m.start()].strip(),
                              suffix=part[m.end():].strip().lstrip(",").strip(),
                              suppress_author=bool(m.group("minus"))))
    return tuple(items)


def _prose_segments(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of the stretches of ``text`` outside protected regions."""
    pos = 0
    for m in _PROTECTED_RE.finditer(text):
        if m.start() > pos:
            yield pos, m.start()
        pos = m.end()
    if pos < len(text):
        yield pos, len(text)


def find_citations(text: str) -> list[Citation]:
    """All citations in ``text`` (markdown or HTML), in order of appearance."""
    found: list[Citation] = []
    for lo, hi in _prose_segments(text):
        segment = text[lo:hi]
        taken: list[tuple[int, int]] = []
        for m in _BRACKET_RE.finditer(segment):
            items = _parse_bracket(m.group("body"))
            if items:
                found.append(Citation(items, False, lo + m.start(), lo + m.end(), m.group(0)))
                taken.append((m.start(), m.end()))
        for m in _NARRATIVE_RE.finditer(segment):
            if any(a <= m.start() < b for a, b in taken):
                continue
            found.append(Citation((CiteItem(_key_of(m)),), True, lo + m.start(), lo + m.end(), m.group(0)))
    found.sort(key=lambda c: c.start)
    return found


def replace_citations(text: str, render: Callable[[Citation], str]) -> str:
    """``text`` with each citation replaced by ``render(citation)``."""
    out, pos = [], 0
    for cite in find_citations(text):
        out.append(text[pos:cite.start])
        out.append(render(cite))
        pos = cite.end
    out.append(text[pos:])
    return "".join(out)


def cited_keys(text: str) -> list[str]:
    """The keys cited in ``text``, each once, in order of first citation."""
    seen: dict[str, None] = {}
    for cite in find_citations(text):
        for key in cite.keys:
            seen.setdefault(key, None)
    return list(seen)


def load_bib(path: str | Path) -> dict[str, dict]:
    """Read a BibTeX file into ``{key: {"ENTRYTYPE": type, field: value, ...}}`` (file order).

    Values are the raw BibTeX strings with the outer braces removed.
    """
    from .bibliography import read_bib

    path = Path(path)
    if not path.is_file():
        raise SurveyError(f"bibliography {path} does not exist", where=str(path),
                          hint="run `survey bib` to generate it, or fix [bibliography] bib in survey.toml")
    library = read_bib(path)  # the bibliography's own reader: same parsing as `survey bib`
    entries: dict[str, dict] = {}
    for entry in library.entries:
        fields = {"ENTRYTYPE": entry.entry_type}
        for f in entry.fields:
            fields[f.key.lower()] = _unbrace(str(f.value))
        entries[entry.key] = fields
    return entries


def _unbrace(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == "{" and value[-1] == "}":
        depth = 0
        for i, ch in enumerate(value):
            depth += ch == "{"
            depth -= ch == "}"
            if depth == 0 and i < len(value) - 1:
                return value  # braces do not enclose the whole value
        return value[1:-1]
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value
