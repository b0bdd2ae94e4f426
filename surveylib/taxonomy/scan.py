"""Many regular expressions over many texts in one pass, with Hyperscan.

Python's ``re`` runs one pattern at a time; a taxonomy has ~200 of them and a corpus can have
100,000 abstracts. Hyperscan compiles every pattern into one automaton and scans each text once,
reporting which patterns match and where their leftmost match starts. Python's ``re`` then
confirms each reported match anchored at that start, so spans, and therefore evidence, are
exactly what ``pattern.search`` gives (the tests compare the two on every shipped paper).

Hyperscan's ``\\w``, ``\\b`` and ``\\s`` are ASCII, Python's are Unicode, so only ASCII texts are
scanned here; the caller handles the rest the plain way. Without the ``hyperscan`` package
(:data:`AVAILABLE` false) nothing here is used and results are the same, only slower.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

try:
    import hyperscan
    AVAILABLE = True
except ImportError:  # pragma: no cover - hyperscan ships wheels for Linux and macOS
    hyperscan = None
    AVAILABLE = False

FAST_MIN = 2000  # below this many texts, compiling a Hyperscan database costs more than it saves

# A bounded gap as long as this makes start-of-match tracking too large for Hyperscan; such
# patterns are only detected by Hyperscan and their span is found by ``re.search``.
_LONG_GAP = re.compile(r"\{\d*,(\d+)\}")
LONG_GAP = 40


def _ascii(pattern: str) -> bytes:
    """The pattern as bytes, each non-ASCII character as its UTF-8 bytes (``\\xHH``): only ASCII
    texts are scanned, so such characters never match either way, but the pattern compiles."""
    return "".join(c if c.isascii() else "".join(f"\\x{b:02x}" for b in c.encode()) for c in pattern).encode()


class Scanner:
    """Patterns compiled into one Hyperscan database.

    ``patterns``: regular expressions; ``caseless``: match ignoring case; ``locate``: find where
    matches start, for every pattern (True), none (False) or the pattern indices given; the others
    are only detected, which is several times faster. :meth:`first_starts`
    gives, per text, pattern index -> start of its leftmost match (or -1 when only its presence
    is known). Patterns Hyperscan cannot compile at all are listed in ``unsupported``; the caller
    must search those itself.
    """

    def __init__(self, patterns: list[str], caseless: bool = False, locate=True):
        self.patterns = patterns
        base = hyperscan.HS_FLAG_CASELESS if caseless else 0
        som, single = base | hyperscan.HS_FLAG_SOM_LEFTMOST, base | hyperscan.HS_FLAG_SINGLEMATCH
        flags: dict[int, int] = {}
        self.unsupported: list[int] = []
        wanted = set(range(len(patterns))) if locate is True else set(locate or ())
        for i, p in enumerate(patterns):
            gaps = [int(g) for g in _LONG_GAP.findall(p)]
            flags[i] = som if i in wanted and not (gaps and max(gaps) >= LONG_GAP) else single
        cache = _cache_file(patterns, flags)
        loaded = _load(cache)
        if loaded is None:
            self.db = self._compile(flags, som, single)
            _save(cache, self.db, flags, self.unsupported)
        else:
            self.db, flags, self.unsupported = loaded
        self.locates = {i for i, f in flags.items() if f == som}
        self.scratch = hyperscan.Scratch(self.db) if self.db is not None else None

    def _compile(self, flags: dict[int, int], som: int, single: int):
        try:
            return self._db(flags)
        except hyperscan.error:
            pass
        # Something did not compile: find out pattern by pattern (slower, only on odd taxonomies).
        for i in list(flags):
            for f in (flags[i], single):
                try:
                    self._db({i: f})
                    flags[i] = f
                    break
                except hyperscan.error:
                    continue
            else:
                del flags[i]
                self.unsupported.append(i)
        return self._db(flags) if flags else None

    def _db(self, flags: dict[int, int]):
        db = hyperscan.Database()
        ids = list(flags)
        db.compile(expressions=[_ascii(self.patterns[i]) for i in ids],
                   ids=ids, elements=len(ids), flags=[flags[i] for i in ids])
        return db

    def first_starts(self, texts: list[str]) -> list[dict[int, int]]:
        """Per ASCII text, pattern index -> start of its leftmost match (-1: matches, start unknown)."""
        out: list[dict[int, int]] = []
        if self.db is None:
            return [{} for _ in texts]
        locates, scan, scratch = self.locates, self.db.scan, self.scratch

        def on_match(pid, start, end, flags, found):
            if pid in locates:
                old = found.get(pid)
                if old is None or start < old:
                    found[pid] = start
            else:
                found[pid] = -1
            return False

        for text in texts:
            found: dict[int, int] = {}
            if text:
                scan(text.encode("ascii"), match_event_handler=on_match, context=found, scratch=scratch)
            out.append(found)
        return out


# Compiling ~200 patterns takes about a second; the compiled database is kept in the user's cache
# directory, keyed by the patterns and flags, so only the first run after a taxonomy edit pays it.

_CACHE_VERSION = 2  # bump when how patterns are compiled changes


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "surveylib" / "hyperscan"


def _cache_file(patterns: list[str], flags: dict[int, int]) -> Path:
    key = json.dumps([_CACHE_VERSION, hyperscan.__version__, patterns, sorted(flags.items())])
    return _cache_dir() / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".hsdb")


def _load(path: Path):
    """(database, flags, unsupported) from the cache, or None."""
    try:
        meta = json.loads(path.with_suffix(".json").read_text())
        flags = {int(k): int(v) for k, v in meta["flags"].items()}
        return hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK), flags, [int(i) for i in meta["unsupported"]]
    except Exception:  # missing, truncated or from another Hyperscan build: compile again
        return None


def _save(path: Path, db, flags: dict[int, int], unsupported: list[int]) -> None:
    if db is None:
        return
    from ..io import atomic_write_bytes, atomic_write_text

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path.with_suffix(".json"), json.dumps({"flags": flags, "unsupported": unsupported}))
        atomic_write_bytes(path, hyperscan.dumpb(db))
    except OSError:  # a read-only home: no cache, just slower
        pass
