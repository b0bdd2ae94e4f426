"""Field-level three-way merge: keep the author's hand edits across regenerations.

Three libraries meet: ``base`` (what ``survey bib`` generated last time, kept in
``bib/.survey.base.bib``), ``ours`` (what it generates now) and ``theirs`` (``bib/survey.bib``
as the author left it). For every field of every entry:

- the author did not touch it (theirs == base): take the new generated value;
- the generator did not change it (ours == base): keep the author's value (an edit, an
  added field, or a deleted field stays deleted);
- both changed it differently: keep the author's value and report a conflict.

Entries only the author has (not in base, not generated) are kept, after the generated ones.
A generated entry whose paper has left the corpus is dropped, unless the author edited it.
An entry the author deleted comes back while its paper is in the corpus (remove the paper
from the sources to drop it). A key renamed in bib/keys.csv carries the entry's edits along.
Whitespace is not compared (an editor that re-wraps a field has not edited it). Values are compared as written (raw text), field names and
entry types ignoring case.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from bibtexparser import Library
from bibtexparser.model import Entry, Field


@dataclass
class MergeReport:
    """What the merge kept of the author's work; ``conflicts`` lists ``key.field`` where
    both sides changed a field (the author's value was kept)."""

    hand_edits_kept: list[str] = field(default_factory=list)
    hand_added_kept: list[str] = field(default_factory=list)
    orphans_kept: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def _fields(entry: Entry | None) -> dict[str, Field]:
    return {} if entry is None else {f.key.lower(): f for f in entry.fields}


def _value(f: Field | None):
    # BibTeX reads any run of whitespace as one space: a reflowed field is not an edit.
    return None if f is None else " ".join(str(f.value).split())


def _equal(a: Field | None, b: Field | None) -> bool:
    """_value(a) == _value(b), without normalising the whitespace of values that are equal
    as written (most fields of most entries: an abstract is split and joined only when it
    differs)."""
    if a is None or b is None:
        return a is b
    x, y = a.value, b.value
    return x == y or " ".join(str(x).split()) == " ".join(str(y).split())


def _by_key(library: Library | None) -> dict[str, Entry]:
    return {} if library is None else {e.key.lower(): e for e in library.entries}


def merge_entry(base: Entry | None, ours: Entry, theirs: Entry | None, report: MergeReport) -> Entry:
    """One entry, merged field by field (see the module docstring)."""
    if theirs is None:
        return ours
    b, o, t = _fields(base), _fields(ours), _fields(theirs)
    names = list(o) + [n for n in t if n not in o]
    merged: list[Field] = []
    for name in names:
        bf, of, tf = b.get(name), o.get(name), t.get(name)
        if _equal(tf, bf) or _equal(tf, of):
            chosen = of
        elif _equal(of, bf):
            chosen = tf
            report.hand_edits_kept.append(f"{ours.key}.{name}")
        else:
            chosen = tf
            report.conflicts.append(f"{ours.key}.{name}")
        if chosen is not None:
            merged.append(Field(chosen.key, chosen.value))
    entry_type = ours.entry_type
    bt = base.entry_type.lower() if base is not None else None
    if theirs.entry_type.lower() not in (bt, ours.entry_type.lower()):
        entry_type = theirs.entry_type
        (report.hand_edits_kept if ours.entry_type.lower() == bt else report.conflicts).append(f"{ours.key}.type")
    if entry_type is ours.entry_type and len(merged) == len(ours.fields) and \
            all(m.value is f.value and m.key is f.key for m, f in zip(merged, ours.fields)):
        return ours  # nothing of the author's differs: the generated entry as it is (written once)
    return Entry(entry_type, ours.key, merged)


def _same(a: Entry, b: Entry) -> bool:
    return a.entry_type.lower() == b.entry_type.lower() and \
        {k: _value(f) for k, f in _fields(a).items()} == {k: _value(f) for k, f in _fields(b).items()}


def merge_libraries(base: Library | None, ours: Library, theirs: Library | None) -> tuple[Library, MergeReport]:
    """``ours`` with the author's changes from ``theirs`` (relative to ``base``) applied.

    Returns ``(merged, report)``. The merged library holds the generated entries in
    ``ours`` order, then the entries only the author has, in the author's order; @string and
    @preamble blocks and comments of the author's file are not part of it (the caller keeps
    them). None for ``base`` or ``theirs`` means an empty library; ``theirs`` given as the
    very ``base`` object means the author's file is the last generated one. When nothing of the
    author's differs from what is generated, ``merged`` is ``ours`` itself (and an entry
    left as generated is the ``ours`` entry itself), so the caller can tell without comparing.
    """
    report = MergeReport()
    if theirs is None or theirs is base:
        return ours, report  # no file of the author's, or the last generated one untouched
    b, t = _by_key(base), _by_key(theirs)
    generated = {e.key.lower() for e in ours.entries}
    # A key renamed in the pin file: the paper's base entry (same generated title) is under
    # the old key, and so are the author's edits to it.
    base_by_title = {_value(_fields(e).get("title")): k for k, e in b.items() if k not in generated}
    renamed: set[str] = set()
    blocks: list[Entry] = []
    for entry in ours.entries:
        k = entry.key.lower()
        if base_by_title and k not in b and k not in t:
            old = base_by_title.get(_value(_fields(entry).get("title")))
            if old is not None and old not in renamed:
                renamed.add(old)
                k = old
        blocks.append(merge_entry(b.get(k), entry, t.get(k), report))
    for entry in ([] if theirs is None else theirs.entries):
        k = entry.key.lower()
        if k in generated or k in renamed:
            continue
        if k not in b:
            report.hand_added_kept.append(entry.key)
        elif _same(entry, b[k]):
            continue  # generated before, paper gone, untouched: drop
        else:
            report.orphans_kept.append(entry.key)
        blocks.append(Entry(entry.entry_type, entry.key, [Field(f.key, f.value) for f in entry.fields]))
    if len(blocks) == len(ours.blocks) and all(m is o for m, o in zip(blocks, ours.blocks)):
        return ours, report  # nothing of the author's to apply (a new project, an untouched file)
    return Library(blocks), report
