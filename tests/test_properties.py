"""Property tests: arbitrary Unicode titles and abstracts survive the generated .bib.

For every generated entry: bibtexparser re-parses the file with no failed block, pybtex reads
it in strict mode, and the title and abstract decode back to the input text.

The decoder is independent of surveylib's own ``decode_latex``: pylatexenc's ``LatexNodes2Text``
(the library behind bibtexparser's ``LatexDecodingMiddleware``), which reads the value the way
LaTeX would typeset it (TeX ligatures such as ``--`` included). Its context is extended with
the LaTeX text commands for ``{ } ^`` that its default table lacks or maps to another
character (``\\textasciicircum`` is ``^``, not U+02C6).
"""
from __future__ import annotations

import re

import bibtexparser
import pandas as pd
import pybtex.database
import pybtex.errors
import pytest
from bibtexparser import Library
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from surveylib.bibliography import build_library, format_bib
from surveylib.bibliography.files import parse_bib_text
from surveylib.bibliography.latex import unbraced

_DB = get_default_latex_context_db().filter_context()
_DB.add_context_category("latex-text-commands", prepend=True, macros=[
    MacroTextSpec("textbraceleft", "{"), MacroTextSpec("textbraceright", "}"),
    MacroTextSpec("textasciicircum", "^"), MacroTextSpec("textasciitilde", "~"),
    MacroTextSpec("textbackslash", "\\"),
])
_TO_TEXT = LatexNodes2Text(latex_context=_DB, math_mode="verbatim", strict_latex_spaces=True)


def tex_text(value: str) -> str:
    """What LaTeX prints for a .bib field value (outer braces removed), via pylatexenc."""
    return _TO_TEXT.latex_to_text(unbraced(value))


# The author's own LaTeX is passed through on purpose: encoded accents (M{\"u}ller, \'e) and
# escaped specials (\&, \%) decode to the letter or sign they stand for (tested below), not
# to their source text.
_AUTHOR_LATEX = re.compile(r"\\[\'\"`^~=.uvHcdbrkt]\{?[A-Za-z]|\{\\(?:ss|o|O|l|L|aa|AA|ae|AE|oe|OE|i|j)\}|\\[%&#_$]")

# Characters that matter to BibTeX and LaTeX, mixed into arbitrary Unicode (no surrogates).
_SPECIAL = st.sampled_from(list("\\{}%&#_$~^@-`'\",= \n\t") + ["--", "``", "''", "\n@", "@article{", "\\&", "{\\%}"])
_CHARS = st.characters(blacklist_categories=("Cs",))
_TEXT = st.lists(st.one_of(_CHARS, _SPECIAL), max_size=40).map("".join)


def _title(text: str) -> str:
    # Titles reach the bibliography whitespace-collapsed (every source parser does this).
    return " ".join(text.split())


def _abstract(text: str) -> str:
    return text.strip()


def generated_bib(rows: list[tuple[str, str]]) -> str:
    corpus = pd.DataFrame({"title": [t for t, _ in rows], "abstract": [a for _, a in rows],
                           "key": [f"paper{i}" for i in range(len(rows))]})
    return format_bib(build_library(corpus))


def check_roundtrip(rows: list[tuple[str, str]]) -> None:
    text = generated_bib(rows)
    # bibtexparser: every block parses, one entry per paper (values raw: outer braces kept).
    library = bibtexparser.parse_string(text, parse_stack=[])
    assert library.failed_blocks == [], [b.error for b in library.failed_blocks]
    entries = {e.key: e for e in library.entries}
    assert len(entries) == len(rows)
    # pybtex, strict mode: any warning is an error.
    pybtex.errors.set_strict_mode(True)
    try:
        pybtex_data = pybtex.database.parse_string(text, "bibtex")
    finally:
        pybtex.errors.set_strict_mode(False)
    assert len(pybtex_data.entries) == len(rows)
    for i, (title, abstract) in enumerate(rows):
        entry = entries[f"paper{i}"]
        assert tex_text(entry["title"]) == title
        assert " ".join(pybtex_data.entries[f"paper{i}"].fields["title"].split()) == unbraced(entry["title"])
        if abstract:
            assert tex_text(entry["abstract"]) == abstract
            # pybtex reads the same value, up to BibTeX's collapsing of whitespace runs.
            got = pybtex_data.entries[f"paper{i}"].fields["abstract"]
            assert " ".join(got.split()) == " ".join(unbraced(entry["abstract"]).split())
        else:
            assert "abstract" not in entry.fields_dict


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=_TEXT.map(_title).filter(bool), abstract=_TEXT.map(_abstract))
@example(title="LLaVA--1.5: 50% of {tokens} & $x_1$", abstract="--- ``quoted'' a^b ~ \\textbf{x} \n@misc{")
@example(title="?`Que? !`Si! -- ok", abstract="x -- y")
@example(title="Caf\u00e9 vs Cafe\u0301 \u200b \ufeff \U0001F600", abstract="\x00\x07\x1b control")
def test_any_title_and_abstract_roundtrip_through_the_bib(title, abstract):
    if _AUTHOR_LATEX.search(title) or _AUTHOR_LATEX.search(abstract):
        return  # by design; see test_author_latex_reads_as_letters
    check_roundtrip([(title, abstract)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_TEXT.map(_title).filter(bool), _TEXT.map(_abstract)), min_size=2, max_size=6))
def test_many_entries_in_one_file(rows):
    if any(_AUTHOR_LATEX.search(t) or _AUTHOR_LATEX.search(a) for t, a in rows):
        return
    check_roundtrip(rows)


@pytest.mark.parametrize("source, letters", [("M{\\\"u}ller", "Müller"), ("\\'e", "é"), ("{\\ss}", "ß"),
                                             ("R\\&D", "R&D"), ("50\\%", "50%")])
def test_author_latex_reads_as_letters(source, letters):
    text = generated_bib([(source, source)])
    entry = parse_bib_text(text).entries[0]
    assert tex_text(entry["title"]) == letters and tex_text(entry["abstract"]) == letters
