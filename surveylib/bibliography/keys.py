"""Citation keys: readable, ASCII, derived from the title, unique ignoring case, and pinned.

Rule: the method name before the title's colon (``LMEye: ...`` -> ``lmeye``,
``TC-LLaVA: ...`` -> ``tc-llava``); with no colon, or a long phrase before it, the first
three significant words (``Long Context Transfer from ...`` -> ``long-context-transfer``).
A clash gets a letter suffix (``llava``, ``llavab``, ``llavac``). Once written to the pin
file (``bib/keys.csv``: key,title) a paper keeps its key for good; the author may rename a
key there.
"""
from __future__ import annotations

import csv
import io
import itertools
import re
import unicodedata
from pathlib import Path

from ..corpus import normalize_titles
from ..errors import SurveyError
from ..io import atomic_write_text

STOPWORDS = frozenset(
    "a an the of for and or to in on with by from at as via into towards toward is are be do does can "
    "we our your its it this that these those how what when why which who beyond through over under "
    "not no more less than".split()
)
MAX_METHOD_WORDS = 3
MAX_KEY_LENGTH = 40


_NON_WORD = re.compile(r"[^a-z0-9]+")


def _ascii_words(text: str) -> list[str]:
    if text.isascii():
        text = text.lower()  # most titles: decomposing accents would change nothing
    else:
        text = unicodedata.normalize("NFKD", text)
        text = text.encode("ascii", "ignore").decode("ascii").lower()
    return [w for w in _NON_WORD.split(text) if w]


def base_key(title: str) -> str:
    """The key a title would get with no clash (see the module docstring)."""
    head, colon, _ = title.partition(":")
    method_words = _ascii_words(head)
    if colon and 0 < len(method_words) <= MAX_METHOD_WORDS and len(head.split()) <= MAX_METHOD_WORDS:
        # Keep the method's own hyphens (TC-LLaVA -> tc-llava); drop other punctuation.
        key = "-".join(method_words)
    else:
        words = [w for w in _ascii_words(title) if w not in STOPWORDS] or _ascii_words(title)
        key = "-".join(words[:3])
    key = key[:MAX_KEY_LENGTH].strip("-")
    return key or "paper"


def _suffixes():
    # b..z, then bb..zz, then three letters and so on: never runs out (a large corpus can
    # hold more than 650 papers with one method name).
    letters = "bcdefghijklmnopqrstuvwxyz"
    for length in itertools.count(1):
        for combo in itertools.product(letters, repeat=length):
            yield "".join(combo)


def assign_keys(titles: list[str], pins: dict[str, str], reserved=(),
                norms: list[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """Keys for ``titles`` (in order), honouring ``pins`` (normalised title -> key).

    Returns ``(keys, pins)``: the key of each title, and the pin table extended with the
    keys given to titles that had none. Pinned keys never change; new keys avoid every
    pinned key and every key in ``reserved``, ignoring case. ``norms``: the titles already
    normalised (:func:`~surveylib.corpus.normalize_title`), when the caller has them.
    """
    pins = dict(pins)
    taken = {k.lower() for k in pins.values()} | {k.lower() for k in reserved}
    # Per base key, where the search for a free suffix stopped: ``taken`` only grows, so
    # every suffix skipped once stays taken and the next clash resumes there (a base shared
    # by thousands of papers costs one step per paper, not a rescan from "b").
    suffixes: dict[str, object] = {}
    keys = []
    if norms is None:
        norms = normalize_titles(titles)
    for title, norm in zip(titles, norms):
        key = pins.get(norm)
        if key is None:
            key = base_key(title)
            if key in taken:  # base keys are lower case
                rest = suffixes.get(key)
                if rest is None:
                    rest = suffixes[key] = _suffixes()
                key = next(key + s for s in rest if key + s not in taken)
            pins[norm] = key
            taken.add(key)
        keys.append(key)
    return keys, pins


def read_pins(path: str | Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The pin file as ``(pins, rows)``: normalised title -> key, and the (key, title) rows in
    file order. A missing file is an empty table. Duplicate keys are an error naming the line."""
    path = Path(path)
    if not path.exists():
        return {}, []
    rows = _just_written(path)
    if rows is None:
        rows = _read_rows(path)
    return dict(zip(normalize_titles([title for _, title in rows]), (key for key, _ in rows))), list(rows)


# The pin table this process last wrote, with the file's stat then: ``survey bib`` writes it and
# the taxonomy reads it right after, which for 100,000 papers would parse and check it again.
_WRITTEN: dict[str, tuple[tuple, list[tuple[str, str]]]] = {}


def _stat(path: Path) -> tuple:
    st = path.stat()
    return st.st_mtime_ns, st.st_size, st.st_ino


def _just_written(path: Path) -> list[tuple[str, str]] | None:
    found = _WRITTEN.get(str(path.resolve()))
    return found[1] if found is not None and found[0] == _stat(path) else None


def _read_rows(path: Path) -> list[tuple[str, str]]:
    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    header = next(reader, None)
    if header is None or not {"key", "title"} <= set(header):
        raise SurveyError("key file needs a header 'key,title'", where=f"{path}:1",
                          hint="restore the header line, or delete the file to re-derive all keys")
    # As csv.DictReader reads it: a repeated column name means its last column; short rows
    # are blank in the missing columns; blank lines are skipped.
    at_key, at_title = (len(header) - 1 - header[::-1].index(name) for name in ("key", "title"))
    rows: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for row in reader:
        if not row:
            continue
        line = reader.line_num
        key = row[at_key].strip() if at_key < len(row) else ""
        title = row[at_title].strip() if at_title < len(row) else ""
        if not key or not title:
            raise SurveyError("row needs both a key and a title", where=f"{path}:{line}")
        if not _PINNABLE.fullmatch(key):
            raise SurveyError(f"key {key!r} has characters BibTeX or Pandoc cannot cite",
                              where=f"{path}:{line}", hint="use letters, digits and - _ : . only")
        lower = key.lower()
        if lower in seen:
            raise SurveyError(f"key {key!r} is also used on line {seen[lower]} (keys are unique ignoring case)",
                              where=f"{path}:{line}", hint="rename one of them")
        seen[lower] = line
        rows.append((key, title))
    return rows


_PINNABLE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_:.\-+/]*")


def write_pins(path: str | Path, rows: list[tuple[str, str]]) -> None:
    """Write the pin file (key,title), atomically, in the order given."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["key", "title"])
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())
    path = Path(path)
    _WRITTEN.clear()
    # As _read_rows would read them back (universal newlines, stripped).
    _WRITTEN[str(path.resolve())] = (_stat(path), [(_as_read(k), _as_read(t)) for k, t in rows])


def _as_read(value) -> str:
    text = str(value)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()
