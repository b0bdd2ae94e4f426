"""Reading a source file as text, with clear errors for what is not one."""
from __future__ import annotations

from pathlib import Path

from ..errors import SourceError


def display_path(path: Path) -> str:
    """The path as the author wrote it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_text(path: str | Path) -> str:
    """The text of ``path``: UTF-8 (a BOM is dropped), line endings normalised to ``\\n``.

    Raises :class:`SourceError` naming the file for a missing file, a directory, or bytes
    that are not UTF-8 text.
    """
    path = Path(path)
    where = display_path(path)
    if path.is_dir():
        raise SourceError("is a directory, not a source file", where=where,
                          hint="name the files inside it, or use a glob such as 'bib/sources/*.txt'")
    if not path.exists():
        raise SourceError("no such file", where=where, hint="check [corpus] sources in survey.toml")
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        raise SourceError("is a binary file (contains NUL bytes), not a text source", where=where,
                          hint="remove it from the sources, or export it as text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceError(f"is not UTF-8 text (bad byte at line {line})", where=f"{where}:{line}",
                          hint="re-save the file as UTF-8") from None
    # A BOM inside the text comes from concatenating files that each had one.
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
