"""Atomic writes and a project lock: a crash or a second process never leaves a half-written file."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import SurveyError


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600; give the file the mode a plain open() would (0666 less umask).
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def replace_tree(staged: str | os.PathLike, target: str | os.PathLike) -> None:
    """Move a fully written directory ``staged`` into place at ``target``.

    The old tree is renamed aside first and removed only after the new one is in place,
    so at every instant ``target`` is either the old good tree or the new one.
    """
    staged, target = Path(staged), Path(target)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
    os.replace(staged, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def project_lock(root: str | os.PathLike, name: str = "survey", timeout: float = 600.0):
    """Hold an exclusive lock on the project so two commands never write the same outputs.

    A second process waits up to ``timeout`` seconds, then stops with a clear message.
    """
    lock_dir = Path(root) / "build"
    lock_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_dir / f".{name}.lock"))
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise SurveyError(
            f"another surveylib command holds the project lock {lock_dir / f'.{name}.lock'}",
            hint="wait for it to finish; if none is running, the lock frees itself (it is released on exit)",
        ) from None
    try:
        yield
    finally:
        lock.release()


def read_json_lines(path: str | os.PathLike, what: str = "file") -> list[tuple[int, dict]]:
    """The objects of a JSON Lines file as ``(line number, object)``, blank lines skipped.

    Strict: a missing file, a line that is not valid JSON, or one that is not an object
    raises :class:`SurveyError` naming ``path:line``.
    """
    import json

    path = Path(path)
    if not path.is_file():
        raise SurveyError(f"{what} {path} does not exist", where=str(path))
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SurveyError(f"not valid JSON ({exc.msg})", where=f"{path}:{n}") from None
        if not isinstance(record, dict):
            raise SurveyError("line is not a JSON object", where=f"{path}:{n}")
        records.append((n, record))
    return records
