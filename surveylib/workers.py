"""Large batches, fast: every core for a pure function over parts of a batch (``fork_map``), and
no cyclic garbage collection while a batch creates millions of small objects (``paused_gc``).

``fork_map(fn, parts)`` returns ``[fn(p) for p in parts]``. Where ``os.fork`` is safe to use
(Linux) and there is more than one part, every part but the last runs in a forked child, which
sees the parent's memory as it was (no pickling of the input, compiled regexes and databases
included) and sends back only its result, pickled through a pipe; the last part runs here.
An exception in a child is raised again here. ``SURVEYLIB_WORKERS=1`` turns forking off.
"""
from __future__ import annotations

import contextlib
import gc
import os
import pickle
import sys
import traceback


def workers() -> int:
    """How many processes a large batch may use: ``SURVEYLIB_WORKERS``, else the usable cores."""
    env = os.environ.get("SURVEYLIB_WORKERS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    if not sys.platform.startswith("linux"):
        return 1  # fork is only safe to rely on there (macOS frameworks, no fork on Windows)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def split(n: int, k: int) -> list[range]:
    """``range(n)`` cut into ``k`` contiguous, nearly equal, non-empty ranges (fewer when n < k)."""
    k = max(1, min(k, n))
    return [range(i * n // k, (i + 1) * n // k) for i in range(k)]


def fork_map(fn, parts: list) -> list:
    """``[fn(p) for p in parts]``, the parts but the last in forked children (see the module doc)."""
    if len(parts) < 2 or workers() < 2:
        return [fn(p) for p in parts]
    children = []
    try:
        for part in parts[:-1]:
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: compute, send, and leave without running the parent's cleanup
                # A collection would walk (and so write to, and copy) every page of the heap it
                # shares with the parent; the child lives for one part, reference counting suffices.
                gc.disable()
                os.close(read)
                code = 0
                try:
                    try:
                        payload = pickle.dumps((True, fn(part)), protocol=pickle.HIGHEST_PROTOCOL)
                    except BaseException as exc:  # noqa: BLE001 - sent to the parent, raised there
                        code = 1
                        payload = pickle.dumps((False, _portable(exc)), protocol=pickle.HIGHEST_PROTOCOL)
                    with os.fdopen(write, "wb") as out:
                        out.write(payload)
                finally:
                    os._exit(code)
            os.close(write)
            children.append((pid, read))
        last = fn(parts[-1])
        results = []
        while children:
            pid, read = children.pop(0)
            with os.fdopen(read, "rb") as source:
                data = source.read()
            os.waitpid(pid, 0)
            if not data:
                raise RuntimeError("a worker process died without a result (killed, or out of memory?)")
            ok, value = pickle.loads(data)
            if not ok:
                raise value
            results.append(value)
        return results + [last]
    finally:
        for pid, read in children:  # only when something failed here: stop and reap the children
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                os.close(read)
            except OSError:
                pass


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it pickles, else a RuntimeError carrying its traceback text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001
        return RuntimeError("".join(traceback.format_exception(exc)))


@contextlib.contextmanager
def paused_gc():
    """Pause the cyclic garbage collector for the block. Ingesting, writing or classifying a large
    corpus creates millions of tuples, lists and dicts that are never cyclic garbage, yet each
    counts towards the collector's next pass, and every full pass walks all of them again (at 100k
    papers, a quarter to a third of each stage's time). Reference counting still frees memory as
    usual; the collector is back (if it was on) when the block ends."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            if not gc.get_freeze_count():
                # All made meanwhile is still "young", and the first collection after this would
                # walk it all (0.1 s at 100,000 papers). Freezing and unfreezing moves it to the
                # oldest generation without a walk (when nobody else has frozen objects).
                gc.freeze()
                gc.unfreeze()
            gc.enable()
