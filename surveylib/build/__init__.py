"""Assemble the survey: execute the section notebooks, then export one HTML page, a LaTeX
bundle and a PDF with nbconvert.

Entry point: :func:`build_survey` (``survey build`` on the command line)::

    from surveylib.config import load_config
    from surveylib.build import build_survey
    result = build_survey(load_config(), formats=("html", "latex", "pdf"))
    result.outputs   # {"html": Path("build/survey.html"), "latex": Path("build/latex"), ...}

Every output is written to a temporary place first (``build/.stage-<pid>-*``) and moved into
``build/`` only when all requested formats succeeded, so a failed or killed build leaves the
previous outputs untouched; the next build sweeps what a killed one left (:func:`sweep_stale`).
A build holds the project lock (:func:`surveylib.io.project_lock`) throughout.

What is reused (``build/.cache``): executed notebooks by execution key (code + data, see
:mod:`.execute`), the survey's corpus and taxonomy for the kernels (:mod:`.snapshot`), the
parsed .bib and formatted bibliography (``export.json``), and the outputs themselves when
nothing at all changed (``outputs.json``).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..config import Config
from ..errors import SurveyError
from ..io import atomic_write_bytes, atomic_write_text, import_nbformat, project_lock, replace_tree
from .outputs import figure, table

__all__ = ["build_survey", "BuildResult", "figure", "table", "FORMATS", "sweep_stale"]

FORMATS = ("html", "latex", "pdf")


@dataclass
class BuildResult:
    """What a build did: the files written, which notebooks ran or came from the cache."""

    outputs: dict[str, Path] = field(default_factory=dict)
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    up_to_date: bool = False
    seconds: float = 0.0
    cited: list[str] = field(default_factory=list)


def _formats(formats) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = formats.split(",")
    out = []
    for f in formats:
        f = f.strip().lower()
        if not f:
            continue
        if f not in FORMATS:
            raise SurveyError(f"unknown output format {f!r}", hint=f"choose from {', '.join(FORMATS)}")
        if f not in out:
            out.append(f)
    return tuple(out)


def _targets(config: Config, formats) -> dict[str, Path]:
    names = {"html": "survey.html", "latex": "latex", "pdf": "survey.pdf"}
    return {f: config.output / names[f] for f in formats}


def build_survey(config: Config, formats=("html",), jobs: int = 2, use_cache: bool = True,
                 progress: Callable[[str], None] | None = print) -> BuildResult:
    """Build the survey described by ``config`` into ``config.output`` (``build/``).

    ``formats``: any of "html", "latex", "pdf" (a tuple or "html,pdf"). ``jobs``: notebooks
    executed at once. ``use_cache=False`` re-executes every notebook. ``progress`` receives
    one line per step (None for silence). Raises SurveyError naming notebook, cell and cause.
    """
    from .execute import execute_notebooks, plan, shared_digest

    say = progress or (lambda _msg: None)
    formats = _formats(formats)
    started = time.perf_counter()
    result = BuildResult()
    targets = _targets(config, formats)
    with project_lock(config.root, "build", notice=say if progress else None):
        swept = sweep_stale(config.output)
        if swept:
            say(f"removed {len(swept)} leftover(s) of an interrupted build: {', '.join(swept)}")
        planned = plan(config, use_cache)
        stamp_file = config.output / ".cache" / "outputs.json"
        # The execution keys cover code and data; the digests add the prose.
        stamp = hashlib.sha256(json.dumps(
            [[[e.key, e.digest] for e in planned], config.title, list(config.authors), config.date,
             shared_digest(config), _build_code_digest()]).encode()).hexdigest()
        stamps = _read_json(stamp_file)
        if use_cache and all(stamps.get(f) == stamp and targets[f].exists() for f in formats):
            for i, e in enumerate(planned):
                say(f"[{i + 1}/{len(planned)}] {e.rel}: cached")
            result.cached = [e.rel for e in planned]
            result.outputs, result.up_to_date = targets, True
            result.seconds = time.perf_counter() - started
            say(f"up to date: {', '.join(str(p.relative_to(config.root)) for p in targets.values())} "
                f"({result.seconds:.1f} s)")
            return result
        # While notebooks run, nbconvert and the exporters load (about a second) in the background.
        executed = execute_notebooks(config, jobs=jobs, use_cache=use_cache, progress=say, planned=planned,
                                     meanwhile=_load_exporters)
        result.executed = [e.rel for e in executed if not e.cached]
        result.cached = [e.rel for e in executed if e.cached]
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", dir=config.output))
        try:
            staged = _export(config, executed, formats, staging, say, result)
            # Everything succeeded: move each output into place (atomically, one by one).
            for fmt, path in staged.items():
                target = targets[fmt]
                if path.is_dir():
                    replace_tree(path, target)
                else:
                    atomic_write_bytes(target, path.read_bytes())
                result.outputs[fmt] = target
                stamps[fmt] = stamp
            atomic_write_text(stamp_file, json.dumps(stamps, indent=1))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    result.seconds = time.perf_counter() - started
    for fmt, path in result.outputs.items():
        say(f"wrote {os.path.relpath(path, config.root)}")
    say(f"built in {result.seconds:.1f} s")
    return result


STAGE_PREFIX = ".stage-"


def sweep_stale(output: Path) -> list[str]:
    """Remove what an interrupted (killed) build left in ``output``: staging folders
    (``.stage-<pid>-*``), half-written files (``.survey.html.*.tmp``) and trees set aside by
    :func:`surveylib.io.replace_tree` (``.latex.old-<pid>``). Returns the names removed.

    Call it holding the project lock: then no live build is writing here, except a process
    still alive whose pid a leftover names (a build of another project sharing ``output``),
    whose files are kept.
    """
    if not output.is_dir():
        return []
    removed = []
    for entry in sorted(output.iterdir()):
        name = entry.name
        if name.startswith(STAGE_PREFIX):
            pid = name[len(STAGE_PREFIX):].split("-", 1)[0]
        elif name.startswith(".") and name.endswith(".tmp"):
            pid = ""
        elif name.startswith(".") and ".old-" in name:
            pid = name.rsplit(".old-", 1)[1]
        else:
            continue
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(name)
    cache = output / ".cache"
    if cache.is_dir():
        for entry in cache.glob(".*.tmp"):
            entry.unlink(missing_ok=True)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _load_exporters() -> None:
    try:
        import_nbformat()
        from . import assemble, exporters  # noqa: F401
    except Exception:  # noqa: BLE001 - the export imports them again and reports the problem
        pass


def _import_nbformat_quickly() -> None:
    """nbformat without jsonschema's IRI grammars (see :func:`surveylib.io.import_nbformat`)."""
    import_nbformat()


def _export(config, executed, formats, staging: Path, say, result: BuildResult) -> dict[str, Path]:
    _import_nbformat_quickly()
    from ..citations import load_bib
    from .assemble import assemble, survey_resources
    from .exporters import SurveyHTMLExporter, SurveyLatexExporter

    cache = _ExportCache(config)
    bib = cache.bib(load_bib)
    merged = assemble(executed, config)
    staged: dict[str, Path] = {}
    if "html" in formats:
        say("exporting HTML")
        resources = survey_resources(config, bib, merged)
        resources["survey"]["formatted"] = cache.formatted
        body, res = SurveyHTMLExporter().from_notebook_node(merged, resources=resources)
        result.cited = list(res["survey"]["cited"])
        # what the bibliography used (nbconvert preprocesses a copy of the resources)
        cache.formatted = res["survey"].get("formatted") or {}
        cache.save()
        staged["html"] = staging / "survey.html"
        staged["html"].write_text(body, encoding="utf-8")
    if "latex" in formats or "pdf" in formats:
        say("exporting LaTeX")
        latex_dir = staging / "latex"
        latex_dir.mkdir()
        body, res = SurveyLatexExporter().from_notebook_node(merged, resources=survey_resources(config, bib, merged))
        result.cited = result.cited or list(res["survey"]["cited"])
        (latex_dir / "survey.tex").write_text(body, encoding="utf-8")
        shutil.copyfile(config.bib, latex_dir / "survey.bib")
        for name, data in res.get("outputs", {}).items():
            (latex_dir / name).write_bytes(data)
        if "latex" in formats:
            staged["latex"] = latex_dir
        if "pdf" in formats:
            say("compiling PDF (xelatex, bibtex)")
            staged["pdf"] = compile_pdf(latex_dir, staging / "pdf")
    return staged


class _ExportCache:
    """What the export can reuse from the last build (``build/.cache/export.json``): the .bib
    as read (for the same bytes) and the bibliography entries as formatted (by the same code).
    A prose-only edit then costs no BibTeX parsing or pybtex formatting."""

    def __init__(self, config: Config):
        self.config = config
        self.file = config.output / ".cache" / "export.json"
        # the .bib is read by surveylib.bibliography: its code counts too
        here = Path(__file__).resolve().parent.parent / "bibliography"
        self.code = hashlib.sha256((_build_code_digest() + "".join(
            hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(here.glob("*.py")))).encode()).hexdigest()
        data = _read_json(self.file)
        fresh = isinstance(data, dict) and data.get("code") == self.code
        self._data = data if fresh else {}
        formatted = self._data.get("formatted")
        self.formatted: dict = dict(formatted) if isinstance(formatted, dict) else {}
        self._before = dict(self.formatted)

    def bib(self, load_bib) -> dict:
        """``load_bib(config.bib)``, or its result from the last build when the file is the same."""
        try:
            digest = hashlib.sha256(self.config.bib.read_bytes()).hexdigest()
        except OSError:
            return load_bib(self.config.bib)  # it reports the missing file
        entry = self._data.get("bib")
        if isinstance(entry, dict) and entry.get("sha256") == digest and isinstance(entry.get("entries"), dict):
            return entry["entries"]
        entries = load_bib(self.config.bib)
        self._data["bib"] = {"sha256": digest, "entries": entries}
        self._dirty = True
        return entries

    _dirty = False

    def save(self) -> None:
        if not self._dirty and self.formatted == self._before:
            return
        data = {"code": self.code, "bib": self._data.get("bib"), "formatted": self.formatted}
        atomic_write_text(self.file, json.dumps(data, ensure_ascii=False))


def compile_pdf(latex_dir: Path, work: Path) -> Path:
    """Compile ``latex_dir/survey.tex`` in a copy at ``work`` (the bundle stays clean) with
    xelatex and bibtex; return the PDF. Unresolved citations or references are an error."""
    shutil.copytree(latex_dir, work)
    tools = ("xelatex", "bibtex")
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        raise SurveyError(f"{', '.join(missing)} not found", hint="run `make pdf` (it installs TeX Live)")
    steps = [["xelatex", "-interaction=nonstopmode", "-halt-on-error", "survey.tex"],
             ["bibtex", "survey"],
             ["xelatex", "-interaction=nonstopmode", "-halt-on-error", "survey.tex"],
             ["xelatex", "-interaction=nonstopmode", "-halt-on-error", "survey.tex"]]
    for cmd in steps:
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, errors="replace")
        if proc.returncode != 0:
            log = (work / "survey.log")
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else proc.stdout[-3000:]
            raise SurveyError(f"{cmd[0]} failed:\n{tail}", where=str(latex_dir / "survey.tex"),
                              hint="the LaTeX bundle is kept in the build's staging folder only; fix the cell "
                                   "or caption that produced the offending LaTeX")
    log = (work / "survey.log").read_text(errors="replace")
    for bad in ("Citation `", "Reference `"):
        if bad in log and "undefined" in log:
            lines = [ln for ln in log.splitlines() if bad in ln and "undefined" in ln]
            if lines:
                raise SurveyError("LaTeX left undefined citations or references: " + "; ".join(lines[:5]),
                                  where=str(latex_dir / "survey.tex"))
    return work / "survey.pdf"


def _build_code_digest() -> str:
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    files = sorted([*here.rglob("*.py"), *(here.parent / "templates").rglob("*"),
                    here.parent / "citations.py"])
    for f in files:
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
