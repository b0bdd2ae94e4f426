"""Atomic writes and a project lock: a crash or a second process never leaves a half-written file."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

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


def atomic_write_all(files: dict) -> None:
    """:func:`atomic_write_bytes` for each ``path -> data`` of ``files``, at the same time: writing
    and syncing a large file waits on the disk with the GIL released, so two large files take
    about as long as one. Each file is replaced atomically on its own; the first error is raised
    once all writes have ended."""
    items = list(files.items())
    if len(items) < 2:
        for path, data in items:
            atomic_write_bytes(path, data)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        futures = [pool.submit(atomic_write_bytes, path, data) for path, data in items]
    for future in futures:
        future.result()


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


LOCK_NAME = ".survey.lock"
BUILD_LOCK_ENV = "SURVEYLIB_BUILD_LOCK"  # set in the kernels a build runs: the lock file it holds
LOCK_TIMEOUT = 600.0  # seconds; SURVEYLIB_LOCK_TIMEOUT overrides it (e.g. for scripts that must not wait)

# Locks this process holds, by (lock file, thread): depth and what holds it. A command that
# calls another's function in-process (taxonomy -> generate_bib) re-enters instead of waiting
# for itself.
_held: dict[tuple[str, int], list] = {}


def _default_notice(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def project_lock(root: str | os.PathLike, name: str = "survey", timeout: float | None = None,
                 notice: Callable[[str], None] | None = _default_notice):
    """Hold the project's one exclusive lock (``build/.survey.lock``) while writing its files.

    Every writer of a project (``survey bib``, ``taxonomy``, ``build``, ``enrich``) takes this
    same lock, so two commands at once never interleave their writes. ``name`` says what
    holds it ("bib", "build"...): a second process that has to wait prints (through
    ``notice``; None for silence) what it waits for, and after ``timeout`` seconds (default
    600, or ``SURVEYLIB_LOCK_TIMEOUT``) stops with a SurveyError. Nested use in the same
    thread re-enters. The lock is the kernel's (flock): a killed holder releases it at once.
    """
    lock_dir = Path(root) / "build"
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / LOCK_NAME
    ident = (str(path.resolve()), threading.get_ident())
    if os.environ.get(BUILD_LOCK_ENV) == ident[0]:
        # A notebook kernel of `survey build`: the build holds the lock and waits for this
        # kernel, so waiting here would hang both.
        raise SurveyError("a notebook run by `survey build` cannot write the project (the build holds its lock)",
                          where=str(path), hint="run the command that writes (survey bib, survey taxonomy...) "
                                                "before the build, not from a notebook")
    if ident in _held:  # re-entry: this thread already holds the project
        _held[ident][0] += 1
        try:
            yield
        finally:
            _held[ident][0] -= 1
        return
    if timeout is None:
        timeout = float(os.environ.get("SURVEYLIB_LOCK_TIMEOUT", LOCK_TIMEOUT))
    lock = FileLock(str(path))
    info = path.with_name(LOCK_NAME + ".owner")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = lock_owner(root) or "another surveylib command"
        if notice is not None:
            notice(f"waiting for {holder} to finish (it holds {path}; giving up after {timeout:.0f} s)")
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise SurveyError(
                f"{holder} still holds the project lock after {timeout:.0f} s",
                where=str(path),
                hint="wait for it to finish and run this command again (a killed command frees the lock "
                     "at once; set SURVEYLIB_LOCK_TIMEOUT to wait longer)",
            ) from None
    _held[ident] = [1, name]
    try:
        with contextlib.suppress(OSError):
            atomic_write_text(info, json.dumps({"command": name, "pid": os.getpid(), "started": time.time()}))
        yield
    finally:
        del _held[ident]
        with contextlib.suppress(OSError):
            info.unlink()
        lock.release()


def held_lock(root: str | os.PathLike) -> str | None:
    """The project lock file of ``root`` if this thread holds it, else None."""
    path = str((Path(root) / "build" / LOCK_NAME).resolve())
    return path if (path, threading.get_ident()) in _held else None


def lock_owner(root: str | os.PathLike) -> str | None:
    """Who holds the project lock, as "`survey build` (pid 123, for 4 s)", or None when unknown."""
    info = Path(root) / "build" / (LOCK_NAME + ".owner")
    try:
        owner = json.loads(info.read_text(encoding="utf-8"))
        return (f"`survey {owner['command']}` (pid {owner['pid']}, "
                f"for {max(0, time.time() - float(owner['started'])):.0f} s)")
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_json_lines(path: str | os.PathLike, what: str = "file") -> list[tuple[int, dict]]:
    """The objects of a JSON Lines file as ``(line number, object)``, blank lines skipped.

    Strict: a missing file, a line that is not valid JSON, or one that is not an object
    raises :class:`SurveyError` naming ``path:line``.
    """
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


def import_nbformat():
    """``import nbformat``, without the second of start-up it otherwise costs.

    jsonschema (which nbformat imports) compiles 39 lark grammars for its optional
    rfc3987_syntax IRI checker when that package is installed; nbformat's schema uses no IRI
    format. The checker is blocked only while nbformat is first imported, so later imports of
    it work normally. Returns the nbformat module.
    """
    if "nbformat" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # makes its import fail
        try:
            import nbformat  # noqa: F401
        finally:
            del sys.modules["rfc3987_syntax"]
    import nbformat

    return nbformat


def read_notebook(path: str | os.PathLike) -> dict:
    """The notebook at ``path`` as plain data (nbformat 4's JSON, each cell's ``source`` one
    string), read without nbformat, whose import costs a notebook kernel 0.2 s. Notebooks in
    an older format are converted by nbformat. Raises :class:`SurveyError` when the file is
    not a readable notebook.
    """
    path = Path(path)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(nb, dict) or not isinstance(nb.get("cells", []), list):
            raise ValueError("not a notebook (no list of cells)")
        if nb.get("nbformat") != 4:
            nb = import_nbformat().reads(json.dumps(nb), as_version=4)
        for cell in nb.get("cells", []):
            if isinstance(cell.get("source"), list):
                cell["source"] = "".join(cell["source"])
    except Exception as exc:  # OSError, ValueError, or nbformat's own for a broken old notebook
        raise SurveyError(f"cannot read notebook: {exc}", where=str(path),
                          hint="is it valid .ipynb JSON? open it in JupyterLab to repair it") from None
    nb.setdefault("cells", [])
    nb.setdefault("metadata", {})
    return nb
