"""Reading a source file as text, with clear errors for what is not one."""
from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from ..errors import SourceError


def display_path(path: Path) -> str:
    """The path as the author wrote it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _unreadable(path: Path, exc: OSError) -> SourceError:
    # Named only on failure: resolving the display path costs more than reading a page.
    where = display_path(path)
    if path.is_dir():
        return SourceError("is a directory, not a source file", where=where,
                           hint="name the files inside it, or use a glob such as 'bib/sources/*.txt'")
    if not path.exists():
        return SourceError("no such file", where=where, hint="check [corpus] sources in survey.toml")
    return SourceError(f"cannot be read ({exc.strerror or exc})", where=where, hint="check that the file is readable")


def _binary(path: Path) -> SourceError:
    return SourceError("is a binary file (contains NUL bytes), not a text source", where=display_path(path),
                       hint="remove it from the sources, or export it as text")


def _not_utf8(path: Path, line: int) -> SourceError:
    return SourceError(f"is not UTF-8 text (bad byte at line {line})", where=f"{display_path(path)}:{line}",
                       hint="re-save the file as UTF-8")


def _normalise(text: str) -> str:
    # Each replace scans the whole text even when there is nothing to replace; a search for
    # one character is much cheaper.
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\ufeff" in text:
        # A BOM inside the text comes from concatenating files that each had one.
        text = text.replace("\ufeff", "")
    return text


def read_text(path: str | Path) -> str:
    """The text of ``path``: UTF-8 (a BOM is dropped), line endings normalised to ``\\n``.

    Raises :class:`SourceError` naming the file for a missing file, a directory, or bytes
    that are not UTF-8 text.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if b"\x00" in data[:65536]:
        raise _binary(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if data.startswith(codecs.BOM_UTF8) else 0)
        raise _not_utf8(path, data[:start].count(b"\n") + 1) from None
    del data
    return _normalise(text)


def read_pieces(path: str | Path, size: int = 1 << 18) -> Iterator[str]:
    """:func:`read_text` of ``path`` in pieces of about ``size`` bytes, cut anywhere:
    ``"".join(read_pieces(path)) == read_text(path)``.

    For big files: the whole text is never in memory at once, and reading a block at a time
    avoids paying for fresh memory pages twice (bytes, then text) per byte of the file.
    Raises :class:`SourceError` as read_text does, when the reading gets to the problem.
    """
    path = Path(path)
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise _unreadable(path, exc) from None
    with fh:
        try:
            data = fh.read(max(size, 65536))  # at least what the binary check looks at
        except OSError as exc:
            raise _unreadable(path, exc) from None
        if b"\x00" in data[:65536]:
            raise _binary(path)
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        held_cr = False  # a CR ending the previous piece: half a CRLF, or a line break of its own
        while True:
            last = not data
            try:
                text = decoder.decode(data, final=last)
            except UnicodeDecodeError:
                read_text(path)  # raises the error with its line
                raise
            if held_cr and not text.startswith("\n"):
                yield "\n"
            held_cr = text.endswith("\r") and not last
            if held_cr:
                text = text[:-1]
            text = _normalise(text)
            if text:
                yield text
            if last:
                return
            data = fh.read(size)
