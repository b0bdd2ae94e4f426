"""The survey's data computed once per build and shared with every notebook kernel.

Each section notebook opens the survey (``sl.open_survey()``) and reads its corpus and
taxonomy; computed in every kernel, the taxonomy alone costs each notebook a second or more.
During a build the parent computes them once (:func:`write_snapshot`, while the first kernels
start) into ``build/.cache/survey-<data digest>.pkl`` and names that file in the kernels'
environment (``SURVEYLIB_SNAPSHOT``). :func:`shared_frames` is what ``Survey`` asks: the frames
of the snapshot when it was made from the same config and the same data files, else None
(then the kernel computes them itself, as it does outside a build).

The frames are those a fresh ``Survey(config)`` computes, so outputs do not change.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import replace
from pathlib import Path

from ..config import Config
from ..io import atomic_write_bytes

ENV = "SURVEYLIB_SNAPSHOT"
_loaded: dict[str, bytes] = {}  # snapshot file -> its bytes, read once per kernel


def snapshot_path(config: Config, shared: str) -> Path:
    """Where the snapshot of ``config`` for data digest ``shared`` (:func:`execute.shared_digest`) lives."""
    key = hashlib.sha256((shared + repr(replace(config, extra={}))).encode()).hexdigest()[:20]
    return config.output / ".cache" / f"survey-{key}.pkl"


def write_snapshot(config: Config, path: Path, shared: str) -> None:
    """Compute the corpus, ingest report and taxonomy of ``config`` as ``Survey`` does and
    write them to ``path`` (atomically; older snapshots are removed)."""
    from ..survey import Survey

    survey = Survey(config)
    frames = {"corpus": survey.corpus, "report": survey.report, "taxonomy": survey.taxonomy}
    data = pickle.dumps({"config": config, "shared": shared, "frames": frames}, protocol=pickle.HIGHEST_PROTOCOL)
    atomic_write_bytes(path, data)
    for old in path.parent.glob("survey-*.pkl"):
        if old != path:
            old.unlink(missing_ok=True)


def shared_frames(config: Config) -> dict | None:
    """The build's precomputed ``{"corpus", "report", "taxonomy"}`` for ``config``, or None
    outside a build, for another config, or when the data files changed since. Each call
    returns new objects, so a notebook that changes a frame changes only its own."""
    name = os.environ.get(ENV)
    if not name:
        return None
    if name not in _loaded:
        try:
            _loaded[name] = Path(name).read_bytes()
        except OSError:
            return None  # not written (yet): compute as usual, and look again next time
    try:
        snap = pickle.loads(_loaded[name])
    except Exception:  # a snapshot from another surveylib or pandas: compute as usual
        return None
    if not isinstance(snap, dict) or snap.get("config") != config:
        return None
    from .execute import shared_digest

    if snap.get("shared") != shared_digest(config):
        return None
    return snap["frames"]
