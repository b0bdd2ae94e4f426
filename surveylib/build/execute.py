"""Run the section notebooks: nbclient, one fresh kernel each over IPC, cached by what the code reads.

``execute_notebooks(config, jobs, use_cache, progress)`` returns the executed notebooks in
``[build] notebooks`` order. A notebook is re-executed only when its *execution key* changes:

- its code cells (sources, and the tags that change how nbclient runs them) and its kernel;
- the data files a notebook can read: everything under ``bib/`` (corpus sources, .bib,
  taxonomy, overrides, keys, metadata, wherever survey.toml puts them) and survey.toml;
- the surveylib version;
- the citations of the notebooks its code names (``survey.cited("02_x.ipynb")``,
  ``survey.uncited(...)``): their cited keys per cell and their code, not their prose.

Its markdown cells are not part of the key: after a prose-only edit the outputs of the last
run are put into the notebook as it is now (:func:`with_outputs`) and only the export runs again.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import __version__
from ..config import CONFIG_NAME, Config
from ..errors import SurveyError
from ..io import BUILD_LOCK_ENV, atomic_write_text, held_lock, import_nbformat
from .snapshot import ENV as SNAPSHOT_ENV
from .snapshot import snapshot_path, write_snapshot
from .zygote import Zygote, kernel_manager_class
from .zygote import enabled as zygote_enabled

CELL_TIMEOUT = 600  # seconds per cell; a survey notebook should take seconds
KERNEL = "python3"
# Cell tags that change what nbclient does with a cell (so they belong in the execution key).
EXECUTION_TAGS = ("raises-exception", "skip-execution")


@dataclass
class Executed:
    """One notebook of the build: where it came from, its keys, whether it ran or was cached.

    ``key`` is the execution key (code + data), ``digest`` the hash of everything the author
    wrote (prose too). ``nb`` (the notebook as written now, with outputs) is assembled only
    when first asked for, so an up-to-date build never parses a notebook.
    """

    path: Path
    rel: str
    key: str
    digest: str
    cached: bool
    cache_file: Path
    text: str = ""
    _nb: object = None

    @property
    def nb(self):
        if self._nb is None:
            nbformat = import_nbformat()
            # The cache holds notebooks this module wrote (and nbformat validated): no second validation.
            ran = nbformat.reader.reads(self.cache_file.read_text(encoding="utf-8"))
            self._nb = with_outputs(nbformat.reads(self.text, as_version=4), ran, where=self.rel)
        return self._nb


def with_outputs(nb, executed, where: str = "notebook"):
    """``nb`` (a notebook as written now) with the outputs of ``executed`` (the same notebook
    run earlier, same code cells, perhaps other prose): code cells take the outputs and
    execution counts in order, the notebook its ``language_info``. Returns ``nb``, changed."""
    mine = [c for c in nb.cells if c.cell_type == "code"]
    ran = [c for c in executed.cells if c.cell_type == "code"]
    if len(mine) != len(ran) or any(a.source != b.source for a, b in zip(mine, ran)):
        raise SurveyError("the execution cache does not match the notebook's code", where=where,
                          hint="run `survey build --no-cache`")
    for cell, old in zip(mine, ran):
        cell.outputs, cell.execution_count = old.outputs, old.execution_count
    if "language_info" in executed.metadata:
        nb.metadata["language_info"] = executed.metadata["language_info"]
    return nb


def data_files(config: Config) -> list[Path]:
    """The data files every notebook may read; a change to any re-executes all notebooks:
    survey.toml, every file under bib/ (not dot-files: tool state such as the merge base),
    and the files survey.toml names, wherever they are."""
    try:
        sources = config.source_files()
    except SurveyError:
        sources = []
    named = [config.root / CONFIG_NAME, *sources, config.bib, config.taxonomy, config.overrides, config.keys,
             config.metadata]
    bib_dir = config.root / "bib"
    under_bib = sorted(p for p in bib_dir.rglob("*") if p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(bib_dir).parts)) \
        if bib_dir.is_dir() else []
    return list(dict.fromkeys([*named, *under_bib]))


def _data_digest(config: Config) -> str:
    h = hashlib.sha256()
    for file in data_files(config):
        # Paths relative to the project, so a moved or cloned project keeps its cache.
        name = os.path.relpath(file, config.root)
        h.update(name.encode() + b"\0")
        h.update(file.read_bytes() if file.is_file() else b"<missing>")
        h.update(b"\0")
    return h.hexdigest()


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def notebook_digest(nb: dict) -> str:
    """A hash of everything the author wrote: cell types, sources and metadata, not outputs.

    ``nb`` is the notebook JSON as a dict (nbformat's node or plain ``json.load``)."""
    cells = [{"t": c.get("cell_type"), "s": _source(c), "m": c.get("metadata", {})} for c in nb.get("cells", [])]
    return hashlib.sha256(json.dumps(cells, sort_keys=True, default=str).encode()).hexdigest()


def code_digest(nb: dict) -> str:
    """A hash of what execution depends on in ``nb`` itself: its code cells (source and
    execution tags, in order) and its kernel. Markdown cells do not count."""
    cells = [{"s": _source(c), "tags": sorted(set((c.get("metadata") or {}).get("tags") or []) & set(EXECUTION_TAGS))}
             for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    kernel = ((nb.get("metadata") or {}).get("kernelspec") or {}).get("name")
    return hashlib.sha256(json.dumps([KERNEL, kernel, cells], sort_keys=True).encode()).hexdigest()


def citation_digest(nb: dict) -> str:
    """A hash of what code learns about ``nb`` through ``Survey.cited``: the keys its markdown
    cells cite, in order, its code cells (``cite(...)`` calls, bracketed citations) and the
    notebook metadata (its theme). Cell numbers are left out, so inserting a paragraph
    re-executes no reader of the notebook (``survey check``, which reports them, is not a
    notebook's business)."""
    from ..citations import find_citations

    cells = []
    for c in nb.get("cells", []):
        if c.get("cell_type") == "markdown":
            cells += [item.key for cite in find_citations(_source(c)) for item in cite.items]
        elif c.get("cell_type") == "code":
            cells.append({"code": _source(c)})
    meta = (nb.get("metadata") or {}).get("surveylib")
    return hashlib.sha256(json.dumps([cells, meta], sort_keys=True, default=str).encode()).hexdigest()


def reads_notebooks(nb: dict, names: list[str]) -> list[str]:
    """Which of the project's notebooks (file ``names``) the code of ``nb`` reads: those it
    names (``survey.cited("02_x.ipynb")``, with or without ``.ipynb``). Code that asks about
    notebooks without naming one (a ``.ipynb`` pattern, ``cited(name)`` on a computed name)
    is taken to read them all."""
    code = "\n".join(_source(c) for c in nb.get("cells", []) if c.get("cell_type") == "code")
    named = [n for n in names if n in code or Path(n).stem in code]
    if named:
        return named
    return list(names) if any(word in code for word in (".ipynb", "cited(", "notebook_citations",
                                                         "check_notebooks")) else []


def cache_key(nb: dict, shared: str, deps: str = "") -> str:
    """The execution key: ``nb``'s code, ``shared`` (:func:`shared_digest`) and ``deps`` (the
    citation digests of the notebooks its code reads)."""
    return hashlib.sha256((code_digest(nb) + shared + deps).encode()).hexdigest()[:20]


def shared_digest(config: Config) -> str:
    """The part of every execution key that does not depend on the notebook."""
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


async def _run_one(nb, root: Path, rel: str, sockdir: Path, index: int, env: dict[str, str], manager):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError
    from traitlets.config import Config as TConfig

    # IPC sockets in a private 0700 folder: no other local process can connect to the kernel.
    # nbclient creates (and so shuts down) the kernel manager, configured for IPC.
    ipc = TConfig({"KernelManager": {"transport": "ipc", "ip": str(sockdir / f"k{index}")}})
    client = NotebookClient(nb, kernel_manager_class=manager, config=ipc, timeout=CELL_TIMEOUT,
                            kernel_name="python3", resources={"metadata": {"path": str(root)}})
    try:
        await client.async_execute(cwd=str(root), env={**os.environ, **env})
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


def read_notebooks(config: Config) -> list[tuple[Path, str, str, dict]]:
    """``(path, rel, text, json)`` of every notebook of ``config.notebooks``, in order."""
    if not config.notebooks:
        raise SurveyError("no notebooks to build", where=str(config.root / CONFIG_NAME),
                          hint="list them under [build] notebooks")
    out = []
    for path in config.notebooks:
        rel = os.path.relpath(path, config.root)
        if not path.is_file():
            raise SurveyError(f"notebook {rel} does not exist", where=str(config.root / CONFIG_NAME),
                              hint="fix [build] notebooks")
        try:
            text = path.read_text(encoding="utf-8")
            raw = json.loads(text)
        except (OSError, ValueError) as exc:
            raise SurveyError(f"not a readable notebook: {exc}", where=rel) from None
        if not isinstance(raw, dict):
            raise SurveyError("not a notebook (the JSON is not an object)", where=rel)
        out.append((path, rel, text, raw))
    return out


def plan(config: Config, use_cache: bool = True) -> list[Executed]:
    """What a build would do, without running anything: one :class:`Executed` per notebook,
    ``cached=True`` where ``build/.cache`` holds a run with the same execution key."""
    cache = config.output / ".cache"
    shared = shared_digest(config)
    notebooks = read_notebooks(config)
    names = [p.name for p, *_ in notebooks]
    cites = {}
    planned = []
    for path, rel, text, raw in notebooks:
        deps = []
        for name in reads_notebooks(raw, names):
            if name not in cites:
                cites[name] = citation_digest(next(r for p, _, _, r in notebooks if p.name == name))
            deps.append(name + ":" + cites[name])
        key = cache_key(raw, shared, "\n".join(deps))
        cache_file = cache / f"{path.stem}-{key}.ipynb"
        planned.append(Executed(path, rel, key, notebook_digest(raw), use_cache and cache_file.is_file(),
                                cache_file, text))
    return planned


def execute_notebooks(config: Config, jobs: int = 2, use_cache: bool = True,
                      progress: Callable[[str], None] | None = print,
                      planned: list[Executed] | None = None,
                      meanwhile: Callable[[], None] | None = None) -> list[Executed]:
    """Execute (or take from ``build/.cache``) every notebook of ``config.notebooks``, in order.

    ``planned``: the result of :func:`plan` when the caller already has it. ``meanwhile``:
    work for the idle parent while kernels run (after the survey snapshot), if any runs."""
    say = progress or (lambda _msg: None)
    cache = config.output / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    if planned is None:
        planned = plan(config, use_cache)
    total = len(planned)
    sockdir, zygote = None, None
    if sum(not ex.cached for ex in planned) > 1 and zygote_enabled():
        # First, so its imports overlap the work below. With this Python: the kernel manager
        # uses it only for kernels that run this Python's ipykernel.
        sockdir = Path(tempfile.mkdtemp(prefix="survey-kernels-"))  # mode 0700
        zygote = Zygote(sys.executable, config.root, sockdir).start()
    try:
        return _execute(config, planned, jobs, say, meanwhile, sockdir, zygote)
    finally:
        if zygote is not None:
            zygote.stop()
        if sockdir is not None:
            shutil.rmtree(sockdir, ignore_errors=True)


def _execute(config: Config, planned: list[Executed], jobs: int, say, meanwhile, sockdir, zygote) -> list[Executed]:
    cache = config.output / ".cache"
    total = len(planned)
    todo: list[tuple[int, Executed]] = []
    for i, ex in enumerate(planned):
        if ex.cached:
            say(f"[{i + 1}/{total}] {ex.rel}: cached")
            continue
        nbformat = import_nbformat()
        nb = nbformat.reads(ex.text, as_version=4)
        for cell in nb.cells:  # start from a clean notebook
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        ex._nb = nb
        todo.append((i, ex))
    if todo:
        nbformat = import_nbformat()
        snapshot = snapshot_path(config, shared_digest(config))
        # One background thread: the survey's frames, computed once while the first kernels
        # start, for all of them; then the caller's work. What the main thread imports during
        # execution is imported before it starts, so the two never import the same modules.
        import jupyter_client.provisioning.local_provisioner  # noqa: F401
        import nbclient  # noqa: F401

        todo_first = None if snapshot.is_file() else (lambda: _write_snapshot(config, snapshot))
        ready = threading.Event()
        worker = threading.Thread(target=_background, args=(todo_first, ready, meanwhile), daemon=True)
        worker.start()
        try:
            env = {SNAPSHOT_ENV: str(snapshot)}
            if held_lock(config.root):  # kernels must not wait for the lock the build holds
                env[BUILD_LOCK_ENV] = held_lock(config.root)
            asyncio.run(_run_all(config, todo, jobs, total, say, env,
                                 ready if todo_first else None, sockdir, zygote))
        finally:
            worker.join()
        for i, ex in todo:
            for old in cache.glob(f"{ex.path.stem}-*.ipynb"):
                old.unlink(missing_ok=True)
            atomic_write_text(ex.cache_file, nbformat.writes(ex.nb))
    return planned


def _write_snapshot(config: Config, path: Path) -> None:
    try:
        write_snapshot(config, path, shared_digest(config))
    except Exception:  # noqa: BLE001 - the kernels then compute the frames and report the problem
        pass


def _background(first, ready: threading.Event, then) -> None:
    try:
        if first is not None:
            first()
    finally:
        ready.set()
    if then is not None:
        then()


async def _run_all(config: Config, todo, jobs: int, total: int, say, env: dict[str, str],
                   snapshot: threading.Event | None = None, sockdir: Path | None = None,
                   zygote: Zygote | None = None) -> None:
    gate = asyncio.Semaphore(max(1, jobs))
    sockdir = sockdir or Path(tempfile.mkdtemp(prefix="survey-kernels-"))  # mode 0700
    manager = kernel_manager_class(zygote)
    loop = asyncio.get_running_loop()
    started = loop.time()
    first_wave = {i for i, _ in todo[:max(1, jobs)]}

    async def one(i: int, ex: Executed):
        async with gate:
            # The first kernels start while the snapshot is computed (and compute the frames
            # themselves if it is late); later ones start once it is there.
            if i not in first_wave and snapshot is not None and not snapshot.is_set():
                await loop.run_in_executor(None, snapshot.wait)
            say(f"[{i + 1}/{total}] {ex.rel}: executing")
            t0 = loop.time()
            await _run_one(ex.nb, config.root, ex.rel, sockdir, i, env, manager)
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
        if zygote is not None:
            zygote.stop()
        shutil.rmtree(sockdir, ignore_errors=True)
    say(f"executed {len(todo)} of {total} notebooks in {loop.time() - started:.1f} s")
