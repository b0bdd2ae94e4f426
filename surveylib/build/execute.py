"""Run the section notebooks: nbclient, one fresh kernel each over IPC, cached by content hash.

``execute_notebooks(config, jobs, use_cache, progress)`` returns the executed notebooks in
``[build] notebooks`` order. A notebook is re-executed only when its cache key changes: the
hash of its cells (outputs ignored), the surveylib version, and the data files a
notebook can read (corpus sources, .bib, taxonomy, overrides, keys, metadata).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import __version__
from ..config import Config
from ..errors import SurveyError
from ..io import atomic_write_text

CELL_TIMEOUT = 600  # seconds per cell; a survey notebook should take seconds


@dataclass
class Executed:
    """One notebook after execution: where it came from, its key, whether it was cached.

    ``nb`` (the executed notebook) is read from the cache only when first asked for, so an
    up-to-date build never parses a notebook.
    """

    path: Path
    rel: str
    key: str
    cached: bool
    cache_file: Path
    _nb: object = None

    @property
    def nb(self):
        if self._nb is None:
            import nbformat

            self._nb = nbformat.read(self.cache_file, as_version=4)
        return self._nb


def data_files(config: Config) -> list[Path]:
    """The data files every notebook may read; a change to any re-executes all notebooks."""
    try:
        sources = config.source_files()
    except SurveyError:
        sources = []
    return [*sources, config.bib, config.taxonomy, config.overrides, config.keys, config.metadata]


def _data_digest(config: Config) -> str:
    h = hashlib.sha256()
    for file in data_files(config):
        # Paths relative to the project, so a moved or cloned project keeps its cache.
        name = os.path.relpath(file, config.root)
        h.update(name.encode() + b"\0")
        h.update(file.read_bytes() if file.is_file() else b"<missing>")
        h.update(b"\0")
    return h.hexdigest()


def notebook_digest(nb: dict) -> str:
    """A hash of what the author wrote: cell types, sources and metadata, not outputs.

    ``nb`` is the notebook JSON as a dict (nbformat's node or plain ``json.load``)."""
    cells = []
    for c in nb.get("cells", []):
        source = c.get("source", "")
        cells.append({"t": c.get("cell_type"), "s": "".join(source) if isinstance(source, list) else source,
                      "m": c.get("metadata", {})})
    return hashlib.sha256(json.dumps(cells, sort_keys=True, default=str).encode()).hexdigest()


def cache_key(nb: dict, shared: str) -> str:
    return hashlib.sha256((notebook_digest(nb) + shared).encode()).hexdigest()[:20]


def shared_digest(config: Config) -> str:
    """The part of every cache key that does not depend on the notebook."""
    # The surveylib version, not its source: an editable install being worked on would
    # otherwise invalidate every notebook on each library edit. Use --no-cache after such edits.
    return hashlib.sha256((__version__ + _data_digest(config)).encode()).hexdigest()


def _error_location(nb) -> tuple[int, str]:
    """(1-based cell number, 'Name: value') of the first cell whose outputs hold an error."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return i + 1, f"{out.get('ename')}: {out.get('evalue')}"
    return 0, "unknown error"


async def _run_one(nb, root: Path, rel: str, sockdir: Path, index: int):
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError
    from traitlets.config import Config as TConfig

    # IPC sockets in a private 0700 folder: no other local process can connect to the kernel.
    # nbclient creates (and so shuts down) the kernel manager, configured for IPC.
    ipc = TConfig({"KernelManager": {"transport": "ipc", "ip": str(sockdir / f"k{index}")}})
    client = NotebookClient(nb, kernel_manager_class=AsyncKernelManager, config=ipc, timeout=CELL_TIMEOUT,
                            kernel_name="python3", resources={"metadata": {"path": str(root)}})
    try:
        await client.async_execute(cwd=str(root))
    except CellExecutionError as exc:
        cell, error = _error_location(nb)
        raise SurveyError(f"a cell raised {error}", where=f"{rel} cell {cell}",
                          hint="fix the cell (run the notebook in JupyterLab to see the traceback); "
                               "the previous build outputs are unchanged") from exc
    except DeadKernelError as exc:
        raise SurveyError(f"the kernel died: {exc}", where=rel) from None
    except TimeoutError as exc:
        raise SurveyError(f"a cell ran longer than {CELL_TIMEOUT} s", where=rel) from exc
    return nb


def execute_notebooks(config: Config, jobs: int = 2, use_cache: bool = True,
                      progress: Callable[[str], None] | None = print) -> list[Executed]:
    """Execute (or take from ``build/.cache``) every notebook of ``config.notebooks``, in order."""
    say = progress or (lambda _msg: None)
    cache = config.output / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    if not config.notebooks:
        raise SurveyError("no notebooks to build", where=str(config.root / "survey.toml"),
                          hint="list them under [build] notebooks")
    shared = shared_digest(config)
    total = len(config.notebooks)
    results: list[Executed | None] = [None] * total
    todo: list[tuple[int, Executed]] = []
    for i, path in enumerate(config.notebooks):
        rel = os.path.relpath(path, config.root)
        if not path.is_file():
            raise SurveyError(f"notebook {rel} does not exist", where=str(config.root / "survey.toml"),
                              hint="fix [build] notebooks")
        try:
            text = path.read_text(encoding="utf-8")
            raw = json.loads(text)
        except (OSError, ValueError) as exc:
            raise SurveyError(f"not a readable notebook: {exc}", where=rel) from None
        key = cache_key(raw, shared)
        cached = cache / f"{path.stem}-{key}.ipynb"
        if use_cache and cached.is_file():
            results[i] = Executed(path, rel, key, True, cached)
            say(f"[{i + 1}/{total}] {rel}: cached")
        else:
            from . import _import_nbformat_quickly

            _import_nbformat_quickly()
            import nbformat

            nb = nbformat.reads(text, as_version=4)
            for cell in nb.cells:  # start from a clean notebook
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
            todo.append((i, Executed(path, rel, key, False, cached, nb)))
    if todo:
        import nbformat

        asyncio.run(_run_all(config, todo, jobs, total, say))
        for i, ex in todo:
            for old in cache.glob(f"{ex.path.stem}-*.ipynb"):
                old.unlink(missing_ok=True)
            atomic_write_text(cache / f"{ex.path.stem}-{ex.key}.ipynb", nbformat.writes(ex.nb))
            results[i] = ex
    return results  # type: ignore[return-value]


async def _run_all(config: Config, todo, jobs: int, total: int, say) -> None:
    gate = asyncio.Semaphore(max(1, jobs))
    sockdir = Path(tempfile.mkdtemp(prefix="survey-kernels-"))  # mode 0700
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def one(i: int, ex: Executed):
        async with gate:
            say(f"[{i + 1}/{total}] {ex.rel}: executing")
            t0 = loop.time()
            await _run_one(ex.nb, config.root, ex.rel, sockdir, i)
            say(f"[{i + 1}/{total}] {ex.rel}: done in {loop.time() - t0:.1f} s")

    tasks = [asyncio.create_task(one(i, ex)) for i, ex in todo]
    try:
        # The first failure stops the build; the other kernels are shut down by their clients.
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception():
                raise task.exception()
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)
    say(f"executed {len(todo)} of {total} notebooks in {loop.time() - started:.1f} s")
