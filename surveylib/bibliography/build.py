"""``survey bib``: corpus -> keys -> generated entries -> merged with the author's file ->
bib/survey.bib (+ pinned keys, + the merge base), each step a plain function.

At scale (100k papers) the generated entries stay plain columns and are written to text
directly; bibtexparser parses the author's file and the base, and makes the generated
entries into a Library for the merge, only when the author's file is not the last generated
one byte for byte (when it is, the merge could change nothing of theirs)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from bibtexparser import Library

from ..corpus import normalize_titles
from ..errors import SurveyError
from ..io import atomic_write_all, project_lock
from ..workers import paused_gc
from .entries import found_records, generate_entries, load_metadata
from .files import author_blocks, check_parsed, format_bib_bytes, format_generated_bytes, parse_bib_text
from .keys import assign_keys, read_pins, write_pins
from .merge import MergeReport, merge_libraries

#: What ``survey bib --help`` and the README say about keys and merging.
RULES = """\
Keys: the method name before the title's colon ("LMEye: ..." -> lmeye), otherwise the first
three significant title words (long-context-transfer); ASCII, unique ignoring case, a clash
gets a letter (llava, llavab). Once written, a key is pinned in bib/keys.csv (key,title) and
never changes, even when new papers arrive; rename a key by editing that file.
Merge: bib/survey.bib is yours to edit. Each run merges field by field against what it
generated last time (bib/.survey.base.bib, commit it): a field you changed, added or deleted
stays as you left it; a field you did not touch follows the corpus; entries you add by hand
are kept; an entry you delete comes back while its paper is in the sources. If both you and
the corpus changed a field, yours wins and it is reported."""


def base_path(bib: str | Path) -> Path:
    """Where the last generated bibliography (the merge base) is kept, next to the .bib."""
    bib = Path(bib)
    return bib.with_name(f".{bib.stem}.base{bib.suffix}")


def _shown(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return Path(path).name


def _normalized_unique_titles(titles: list[str]) -> list[str]:
    """The normalised titles (computed once: keys, pins and metadata all look papers up by
    them), refusing two papers with the same one."""
    norms = normalize_titles(titles)
    if len(set(norms)) != len(norms):
        seen: dict[str, str] = {}
        for title, norm in zip(titles, norms):
            if norm in seen:
                raise SurveyError(f"two papers have the same normalised title: {seen[norm]!r} and {title!r}",
                                  where=title, hint="deduplicate the corpus (surveylib.sources.ingest does)")
            seen[norm] = title
    return norms


def with_keys(corpus: pd.DataFrame, keys_path: str | Path, reserved=()) -> pd.DataFrame:
    """The corpus with a ``key`` column: pinned keys from ``keys_path`` (bib/keys.csv) where a
    paper has one, a provisional key (what the next ``survey bib`` will pin) otherwise.

    Pure: reads the pin file, writes nothing, returns a new DataFrame. ``reserved``: keys new
    papers must not take (for example entries the author added by hand).
    """
    pins, _ = read_pins(keys_path)
    keys, _ = assign_keys([str(t) for t in corpus["title"]], pins, reserved)
    return corpus.assign(key=keys)


def _parsed(data: bytes | None, path: Path) -> Library | None:
    """A .bib file's bytes as a Library (None for no file), stopping at a block bibtexparser
    cannot read."""
    if data is None:
        return None
    text = data.decode("utf-8")
    if "\r" in text:  # as read_bib's read_text does (universal newlines)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    library = parse_bib_text(text)
    check_parsed(library, path)
    return library


def default_keywords(config, corpus: pd.DataFrame) -> dict[str, list[str]]:
    """Theme names per key from the taxonomy, when the project has one and the taxonomy
    module provides ``corpus_keywords``; otherwise none."""
    if not Path(config.taxonomy).exists():
        return {}
    try:
        from ..taxonomy import corpus_keywords
    except (ImportError, AttributeError):
        return {}
    return dict(corpus_keywords(config, corpus) or {})


@dataclass
class BibResult:
    """What one ``survey bib`` run did (counts), with the keys and fields behind the counts."""

    path: Path
    entries: int = 0
    new_keys: int = 0
    hand_edits_kept: int = 0
    hand_added_kept: int = 0
    conflicts: int = 0
    details: dict = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"bib: wrote {self.path} with {self.entries} entries; {self.new_keys} new key(s), "
                 f"{self.hand_edits_kept} hand edit(s) kept, {self.hand_added_kept} hand-added entr(ies) kept, "
                 f"{self.conflicts} conflict(s)"]
        for name in self.details.get("conflicts", []):
            lines.append(f"  conflict: {name}: you and the corpus both changed it; kept yours")
        for key in self.details.get("orphans_kept", []):
            lines.append(f"  kept {key}: its paper left the corpus but you edited the entry")
        return "\n".join(lines)


def _write_bib(config, corpus, titles, norms, keywords, metadata) -> tuple[int, list, MergeReport]:
    """The locked part of :func:`generate_bib`: pins, generated and merged libraries, files.
    Returns the number of merged entries, the new pin rows and the merge report."""
    bib, base_file = Path(config.bib), base_path(config.bib)
    names = {"base": _shown(base_file, config.root), "keys": _shown(config.keys, config.root)}
    theirs_data = bib.read_bytes() if bib.exists() else None
    base_data = base_file.read_bytes() if base_file.exists() else None
    # The author's file as last generated, byte for byte (no edits since): the merge has
    # nothing of the author's to apply, and no key of theirs is new. It is parsed (once,
    # serving as both) only for its comments and @strings, and only if the generated
    # text changed; the same text has none.
    untouched = theirs_data is not None and theirs_data == base_data
    theirs = base = None
    if not untouched:
        theirs, base = _parsed(theirs_data, bib), _parsed(base_data, base_file)
        theirs_data = base_data = None  # parsed: the bytes are not needed again
    pins, rows = read_pins(config.keys)
    pinned = {k.lower() for k in pins.values()}
    base_keys = {e.key.lower() for e in base.entries} if base is not None else set()
    reserved = [e.key for e in (theirs.entries if theirs is not None else [])
                if e.key.lower() not in base_keys and e.key.lower() not in pinned]
    keys, _ = assign_keys(titles, pins, reserved, norms=norms)
    new_rows = [(k, t) for k, t, n in zip(keys, titles, norms) if n not in pins]

    generated = generate_entries(corpus, keywords, found_records(metadata), norms=norms, keys=keys)
    ours_data = format_generated_bytes(generated, **names)
    if untouched and ours_data != theirs_data:
        theirs = base = _parsed(theirs_data, bib)
    if theirs is None:
        # Nothing of the author's to merge (no file, or the file exactly as generated now):
        # the generated text is the bibliography; no entry objects are needed.
        merged_data, count, report = ours_data, len(generated), MergeReport()
    else:
        ours = generated.library()
        merged, report = merge_libraries(base, ours, theirs)
        kept_blocks = author_blocks(theirs)
        if kept_blocks:
            merged = Library(kept_blocks + list(merged.blocks))
        # The merge returns the generated library itself when it changed nothing: same bytes.
        merged_data = ours_data if merged is ours else format_bib_bytes(merged, **names)
        count = len(merged.entries)

    if new_rows:
        write_pins(config.keys, rows + new_rows)
    atomic_write_all({bib: merged_data, base_file: ours_data})
    return count, new_rows, report


def generate_bib(config, corpus: pd.DataFrame | None = None, keywords: dict | None = None,
                 metadata: dict | None = None) -> BibResult:
    """Build ``config.bib`` from the corpus and merge it with the author's edits.

    In: ``config`` (paths: bib, keys, metadata, sources); ``corpus`` (default: ingest the
    sources); ``keywords`` (key -> theme names; default: the taxonomy's, when there is one);
    ``metadata`` (the arXiv cache dict; default: read ``config.metadata`` if it exists).
    Out: a :class:`BibResult`. Writes, atomically and under the project lock: new pins to
    ``config.keys``, the merged bibliography to ``config.bib``, and what was generated to the
    merge base next to it.
    """
    if corpus is None:
        from ..sources import ingest

        corpus, _ = ingest(config.source_files(), root=config.root)
    titles = [t if type(t) is str else str(t) for t in corpus["title"].tolist()]
    norms = _normalized_unique_titles(titles)
    if metadata is None:
        metadata = load_metadata(config.metadata)
    if keywords is None:
        keywords = default_keywords(config, corpus)
    with project_lock(config.root, "bib"), paused_gc():
        # In a function of its own so that the libraries are freed (by reference counting)
        # before the collector resumes and would otherwise walk them once more.
        merged_count, new_rows, report = _write_bib(config, corpus, titles, norms, keywords, metadata)
    return BibResult(
        path=Path(config.bib),
        entries=merged_count,
        new_keys=len(new_rows),
        hand_edits_kept=len(report.hand_edits_kept),
        hand_added_kept=len(report.hand_added_kept),
        conflicts=len(report.conflicts),
        details={"new_keys": [k for k, _ in new_rows], "hand_edits_kept": report.hand_edits_kept,
                 "hand_added_kept": report.hand_added_kept, "orphans_kept": report.orphans_kept,
                 "conflicts": report.conflicts},
    )
