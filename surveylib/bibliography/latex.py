"""Plain text <-> BibTeX field text: escaping, title protection, and the exact inverse.

Text fields (title, abstract, author, keywords) are written so that BibTeX, pybtex,
biber and bibtexparser all read the same balanced value, and :func:`decode_latex` gives
back the original text character for character:

==============================  =====================================
in the text                     in the .bib
==============================  =====================================
``& % $ # _``                   ``\\& \\% \\$ \\# \\_``
``{ }``                         ``\\textbraceleft{} \\textbraceright{}`` (never ``\\{``: BibTeX
                                counts escaped braces too, so one stray brace would break the file)
``~ ^ \\``                       ``\\textasciitilde{} \\textasciicircum{} \\textbackslash{}``
``\\%`` (already escaped)        ``{\\%}`` (still a percent sign to LaTeX; kept distinct)
``M{\\"u}ller``, ``\\'e``, ``{\\ss}``  unchanged (already-encoded accents)
``@`` starting a line            ``{@}`` (a line starting with ``@`` ends an entry for parsers)
``--``, ``````, ``''``, ``?```       ``-{}-`` ... (TeX would make them ligatures: an en dash, quotes)
``LLaVA``, ``KV`` in a title     ``{LLaVA}``, ``{KV}`` (kept as written by sentence-casing styles)
==============================  =====================================

URLs, DOIs and eprints are never LaTeX-escaped (:func:`encode_verbatim`).
"""
from __future__ import annotations

import functools
import operator
import re

# Already-encoded accents and special letters are passed through verbatim.
_LETTER = r"(?:[A-Za-z]|\\[ij])"
_ACCENT = (
    r"\\[\'\"`^~=.](?:[A-Za-z]|\{" + _LETTER + r"\})"  # \"u  \'{e}  \'{\i}
    r"|\\[uvHcdbrkt]\{" + _LETTER + r"\}"  # \v{c}
)
_SPECIAL_LETTER = r"\{\\(?:ss|o|O|l|L|aa|AA|ae|AE|oe|OE|i|j)\}"  # {\ss}
_PASSTHROUGH = r"\{(?:" + _ACCENT + r")\}|" + _SPECIAL_LETTER + "|" + _ACCENT

_TEXT_COMMANDS = {"\\": "textbackslash", "{": "textbraceleft", "}": "textbraceright",
                  "~": "textasciitilde", "^": "textasciicircum"}
_ESCAPED = "%&#_$"

_ENCODE = re.compile(
    r"(?P<keep>" + _PASSTHROUGH + r")"
    r"|(?P<escaped>\\[%&#_$])"
    r"|(?P<special>[\\{}~^%&#_$])"
)
_DECODE = re.compile(
    r"(?P<command>\\(?:" + "|".join(_TEXT_COMMANDS.values()) + r")\{\})"
    r"|(?P<escaped>\{\\[%&#_$]\})"
    r"|(?P<special>\\[%&#_$])"
    r"|(?P<keep>" + _PASSTHROUGH + r")"
    r"|(?P<brace>[{}])"
)
_COMMAND_CHAR = {v: k for k, v in _TEXT_COMMANDS.items()}
_LINE_START_AT = re.compile(r"(\n\s*)@")
# TeX ligatures that change the text (-- is an en dash, `` a quote, ?` an inverted ?): an
# empty group goes between the two characters of every such pair, keeping them as typed.
# A run (---) overlaps itself, so pairs of equal characters are separated in two passes.
_LIGATURE_PAIRS = (("--", "-{}-", 2), ("``", "`{}`", 2), ("''", "'{}'", 2), ("?`", "?{}`", 1),
                   ("!`", "!{}`", 1), (",,", ",{},", 2), ("<<", "<{}<", 2), (">>", ">{}>", 2))
# The specials a character-for-character replacement handles (no accents can be involved
# without a backslash or a brace in the text).
_SIMPLE = {ch: "\\" + _TEXT_COMMANDS[ch] + "{}" if ch in _TEXT_COMMANDS else "\\" + ch for ch in "~^%&#_$"}


def _has_special(text: str) -> bool:
    # Single-character `in` tests run at memchr speed, far faster than one regex scan over
    # an abstract; a pair is looked for only when its first character is there (-- and ,,
    # directly: nearly every abstract has a hyphen and a comma).
    return ("\\" in text or "{" in text or "}" in text or "~" in text or "^" in text or "%" in text
            or "&" in text or "#" in text or "_" in text or "$" in text or "@" in text
            or "--" in text or ",," in text or ("'" in text and "''" in text)
            or ("`" in text and ("``" in text or "?`" in text or "!`" in text))
            or ("<" in text and "<<" in text) or (">" in text and ">>" in text))


def _encode_match(m: re.Match) -> str:
    if m.group("keep"):
        return m.group("keep")
    if m.group("escaped"):
        return "{" + m.group("escaped") + "}"
    ch = m.group("special")
    if ch in _TEXT_COMMANDS:
        return "\\" + _TEXT_COMMANDS[ch] + "{}"
    return "\\" + ch


_SPECIAL_START = re.compile(r"[\\{}~^%&#_$]")  # every _ENCODE match starts with one of these


def _encode_general(text: str) -> str:
    """``_ENCODE.sub(_encode_match, text)``, found faster: a match can only start at a
    special character, so a plain character-class scan finds where to try the full pattern
    (the alternation itself is slow to try at every character of a long abstract)."""
    out, pos, search, match = [], 0, _SPECIAL_START.search, _ENCODE.match
    while (found := search(text, pos)) is not None:
        m = match(text, found.start())  # always matches: a lone special is a match
        out.append(text[pos:found.start()])
        out.append(_encode_match(m))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def encode_text(text: str) -> str:
    """Plain text -> BibTeX field text with LaTeX specials escaped (no outer braces).

    The result has balanced braces whatever ``text`` holds, and never starts a line with ``@``.
    """
    if not _has_special(text):
        return text  # most words and many abstracts: nothing to escape
    if "\\" in text or "{" in text or "}" in text:
        out = _encode_general(text)  # accents, escaped specials, braces
    else:
        out = text
        for ch, escaped in _SIMPLE.items():
            if ch in out:
                out = out.replace(ch, escaped)
    for pair, split, passes in _LIGATURE_PAIRS:
        if pair[0] in out and pair in out:  # a one-character test first: memchr speed
            for _ in range(passes):
                out = out.replace(pair, split)
    if "@" in out:
        out = _LINE_START_AT.sub(r"\1{@}", out)
    return out


def _decode_match(m: re.Match) -> str:
    if m.group("command"):
        return _COMMAND_CHAR[m.group("command")[1:-2]]
    if m.group("escaped"):
        return m.group("escaped")[1:-1]
    if m.group("special"):
        return m.group("special")[1]
    if m.group("keep"):
        return m.group("keep")
    return ""  # a protecting brace


def decode_latex(value: str) -> str:
    """BibTeX field text (no outer braces) -> the plain text :func:`encode_text` or
    :func:`encode_title` was given. Protecting braces are dropped; accents stay encoded."""
    return _DECODE.sub(_decode_match, value)


# --- titles ------------------------------------------------------------------------------

_TOKEN = re.compile(r"\S+")
_EDGE = re.compile(r"^(?P<lead>[\(\[\"'“‘]*)(?P<core>.*?)(?P<trail>[\)\]\"'”’:;,.!?]*)$", re.DOTALL)
_SMALL = frozenset("a an the of for and or to in on with by from at as via vs is are be".split())


@functools.lru_cache(maxsize=1 << 16)  # title words repeat across a corpus; the answer depends on the word only
def _needs_protection(core: str) -> bool:
    """A word whose capitals a sentence-casing style must not touch: inner capitals
    (LLaVA, KV, TC-LLaVA, mPLUG) or capitals with digits (3D, GPT4, Qwen2)."""
    for part in re.split(r"[-/]", core):
        letters = [c for c in part if c.isalpha()]
        if not letters:
            continue
        if any(c.isupper() for c in letters[1:]) or (part[:1].islower() and any(c.isupper() for c in letters)):
            return True
        if any(c.isupper() for c in letters) and any(c.isdigit() for c in part):
            return True
    return False


def _is_capitalised(core: str) -> bool:
    return core[:1].isupper()


@functools.lru_cache(maxsize=1 << 18)  # a corpus reuses its title words; the answer depends on the word only
def _word(token: str) -> tuple[str, str, bool, bool, bool, bool, bool]:
    """One whitespace-free title token -> the facts :func:`encode_title` needs: (the token
    as written, escaped, braced if it always needs protection; the token escaped with its
    core braced; capitalised; counts for sentence case; capitalised and counts; has a
    core; ends with a colon; changed by encoding at all).

    Lead (opening brackets, quotes), core and trail (closing punctuation) are escaped
    separately; a core that escapes to a command (``\\&``) is never braced."""
    m = _EDGE.match(token)
    lead, core, trail = m.group("lead"), m.group("core"), m.group("trail")
    enc_lead, enc_core, enc_trail = encode_text(lead), encode_text(core), encode_text(trail)
    plain = enc_lead + enc_core + enc_trail
    protected = enc_lead + "{" + enc_core + "}" + enc_trail if core and not enc_core.startswith("\\") else plain
    as_written = protected if bool(core) and _needs_protection(core) else plain
    capitalised, counts = _is_capitalised(core), core[:1].isalpha() and core.lower() not in _SMALL
    return (as_written, protected, capitalised, counts, capitalised and counts, bool(core), trail.endswith(":"),
            as_written != token)


_AS_WRITTEN, _COUNTS, _CAPITALISED_COUNTS, _CHANGED = (operator.itemgetter(i) for i in (0, 3, 4, 7))


def _names_protected(infos) -> bool:
    # In a title that is not in Title Case, capitalised words (not the first word) are
    # names: fewer than half of the words that count (not the first) are capitalised.
    inner = sum(map(_COUNTS, infos)) - infos[0][3]
    capitalised = sum(map(_CAPITALISED_COUNTS, infos)) - infos[0][4]
    return inner >= 2 and capitalised / inner < 0.5


def _title_words(infos) -> list[str]:
    """The encoded words of a title (empty titles aside)."""
    if not _names_protected(infos):
        return list(map(_AS_WRITTEN, infos))  # only acronyms and mixed-case names
    out, first = [], True
    for info in infos:
        # A capitalised word is a name unless it starts the title or follows a colon.
        out.append(info[1] if info[2] and not first else info[0])
        if info[5]:
            first = info[6]
    return out


def encode_title(title: str) -> str:
    """Like :func:`encode_text`, and braces words a BibTeX style must not lowercase:
    acronyms and mixed-case names everywhere (``{LLaVA}``, ``{KV}``), and capitalised
    words inside a sentence-case title (``{Transformers}``)."""
    if not _has_special(title):
        words = title.split()
        if " ".join(words) == title:
            return _encode_plain_title(title, words)
    return _encode_title_general(title)


def _encode_plain_title(title: str, words: list[str]) -> str:
    """:func:`_encode_title_general` for a title with nothing to escape and single spaces
    (most titles): only protecting braces are added, so decoding gives the title back
    without the safety-net check."""
    if not words:
        return title
    infos = list(map(_word, words))
    if not any(map(_CHANGED, infos)) and not _names_protected(infos):
        return title  # no acronym, no name: as it is
    return " ".join(_title_words(infos))


def _encode_title_general(title: str) -> str:
    """encode_title for any text: escapes, ligatures, any whitespace and line-start ``@``."""
    tokens = list(_TOKEN.finditer(title))
    infos = [_word(t.group()) for t in tokens]
    out, pos = [], 0
    for tok, word in zip(tokens, _title_words(infos) if infos else []):
        out.append(encode_text(title[pos:tok.start()]))
        out.append(word)
        pos = tok.end()
    out.append(encode_text(title[pos:]))
    encoded = _LINE_START_AT.sub(r"\1{@}", "".join(out))
    # Safety net: protection must never change what the title reads back as.
    return encoded if decode_latex(encoded) == title else encode_text(title)


def encode_name(name: str) -> str:
    """One person or organisation for the author field. ``First Last`` and ``Last, First``
    (``von Last, Jr, First``) pass as they are; a name BibTeX would misread (the word 'and',
    more than two commas) is braced whole."""
    enc = encode_text(name)
    if name.count(",") > 2 or re.search(r"\band\b", name, re.IGNORECASE):
        enc = "{" + enc + "}"
    return enc


def encode_names(names) -> str:
    return " and ".join(encode_name(n) for n in names)


# --- verbatim fields ---------------------------------------------------------------------

_UNSAFE_IN_URL = {"{": "%7B", "}": "%7D", "\\": "%5C", " ": "%20", "\n": "%0A", "\t": "%09", '"': "%22"}
_UNSAFE_TABLE = str.maketrans(_UNSAFE_IN_URL)


def encode_verbatim(value: str) -> str:
    """A URL, DOI or eprint as written to the .bib: no LaTeX escaping (``_ % & #`` stay as
    they are; biblatex and the url package read the field verbatim). The few characters that
    would unbalance the field are percent-encoded, which means the same in a URL."""
    value = value.strip()
    if any(ch in value for ch in _UNSAFE_IN_URL):
        value = value.translate(_UNSAFE_TABLE)
    return value


def braced(text: str) -> str:
    """A field value as bibtexparser stores it: the text inside its enclosing braces."""
    return "{" + text + "}"


def unbraced(value: str) -> str:
    """The text of a raw field value without its enclosing braces or quotes."""
    value = value.strip()
    if len(value) >= 2 and ((value[0], value[-1]) in (("{", "}"), ('"', '"'))):
        return value[1:-1]
    return value
