"""The bibliography: corpus -> bibtexparser Library -> bib/survey.bib, keeping hand edits.

Entry points: :func:`with_keys` (corpus -> corpus with a ``key`` column, pure),
:func:`generate_bib` (config -> writes bib/survey.bib, returns :class:`BibResult`) and
:func:`read_bib` (path -> bibtexparser ``Library``). For a large corpus, :func:`generate_entries`
gives the generated side as plain columns, written by :func:`format_generated_bytes` without
entry objects; :meth:`GeneratedEntries.library` makes the entries the merge needs. The steps are plain functions in
:mod:`.keys`, :mod:`.latex`, :mod:`.entries`, :mod:`.merge` and :mod:`.files`.
"""
from __future__ import annotations

from .build import RULES, BibResult, base_path, default_keywords, generate_bib, with_keys
from .entries import GeneratedEntries, build_library, generate_entries, load_metadata, paper_entry
from .files import format_bib, format_bib_bytes, format_generated_bytes, parse_bib_text, read_bib
from .keys import assign_keys, base_key, read_pins, write_pins
from .latex import decode_latex, encode_text, encode_title, encode_verbatim, unbraced
from .merge import MergeReport, merge_libraries

__all__ = ["RULES", "BibResult", "base_path", "default_keywords", "generate_bib", "with_keys",
           "GeneratedEntries", "build_library", "generate_entries", "load_metadata", "paper_entry", "format_bib",
           "format_bib_bytes", "format_generated_bytes", "parse_bib_text", "read_bib",
           "assign_keys", "base_key", "read_pins", "write_pins", "decode_latex", "encode_text",
           "encode_title", "encode_verbatim", "unbraced", "MergeReport", "merge_libraries"]
