"""Many regular expressions over many texts in one pass, with Hyperscan.

Python's ``re`` runs one pattern at a time; a taxonomy has ~200 of them and a corpus can have
100,000 abstracts. Hyperscan compiles every pattern into one automaton and scans each text once,
reporting which patterns match and where matches end. For a pattern whose span is wanted,
Python's ``re`` then searches from just before the earliest end (see :func:`_reach`), so spans,
and therefore evidence, are exactly what ``pattern.search`` gives (the tests compare the two on
every shipped paper). Hyperscan's start-of-match tracking would say the same, but makes the
scan about twice as slow.

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

try:  # the parser behind re.compile, for a pattern's longest match
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_parse as _sre_parse

FAST_MIN = 2000  # below this many texts, compiling a Hyperscan database costs more than it saves
_UNBOUNDED = 1 << 16  # a match length at least this long counts as unbounded (e.g. ``\\w*``)


def _ascii(pattern: str) -> bytes:
    """The pattern as bytes, each non-ASCII character as its UTF-8 bytes (``\\xHH``): only ASCII
    texts are scanned, so such characters never match either way, but the pattern compiles."""
    return "".join(c if c.isascii() else "".join(f"\\x{b:02x}" for b in c.encode()) for c in pattern).encode()


def _reach(regex: re.Pattern) -> int | None:
    """How far before the earliest end of any of its matches ``regex``'s leftmost match can
    start, or None when there is no bound. The leftmost match's shortest version ends at or
    after that earliest end, so this is the longest a shortest match can be: the longest match,
    except that a repeat ending the pattern (``\\w*`` in ``hallucinat\\w*``) counts its fewest
    repetitions, since stopping there is still a match."""
    try:
        tree = _sre_parse.parse(regex.pattern, regex.flags)
        reach = _shortest_bound(tree.state, list(tree), True)
    except Exception:  # noqa: BLE001 - an internal parser: when in doubt, search the whole text
        return None
    return reach if reach < _UNBOUNDED else None


def _shortest_bound(state, items: list, trailing: bool) -> int:
    """Upper bound of the length of the shortest match of ``items`` (a parsed sequence) at a
    start where it matches; ``trailing``: nothing follows the sequence in the pattern."""
    def longest(item_list):
        return _sre_parse.SubPattern(state, list(item_list)).getwidth()[1]

    if not items:
        return 0
    *head, (op, av) = items
    total = longest(head) if head else 0
    if not trailing:
        return total + longest([(op, av)])
    if op is _sre_parse.BRANCH:
        return total + max(_shortest_bound(state, list(branch), True) for branch in av[1])
    if op is _sre_parse.SUBPATTERN:
        return total + _shortest_bound(state, list(av[-1]), True)
    if op in (_sre_parse.MAX_REPEAT, _sre_parse.MIN_REPEAT):
        low, _, sub = av
        return total + (low * longest(sub) if low else 0)
    return total + longest([(op, av)])


class Scanner:
    """Patterns compiled into one Hyperscan database.

    ``patterns``: regular expressions; ``caseless``: match ignoring case, for every pattern (True),
    none (False) or the pattern indices given; ``locate``: the pattern
    indices whose spans are wanted (True: all, False: none); the others are only detected, which
    is faster. :meth:`spans` gives, per text, pattern index -> the span ``re.search`` finds (or
    None for a pattern only detected). Patterns Hyperscan cannot compile at all are listed in
    ``unsupported``; the caller must search those itself.
    """

    def __init__(self, patterns: list[str], caseless: bool = False, locate=True):
        self.patterns = patterns
        every = set(range(len(patterns)))
        wanted = every if locate is True else set(locate or ())
        folded = every if caseless is True else set(caseless or ())
        # Located patterns report every match end (the earliest is wanted, and Hyperscan does not
        # promise to report ends in order); the others report their first match only.
        flags = {i: (hyperscan.HS_FLAG_CASELESS if i in folded else 0)
                 | (0 if i in wanted else hyperscan.HS_FLAG_SINGLEMATCH) for i in range(len(patterns))}
        self.unsupported: list[int] = []
        cache = _cache_file(patterns, flags)
        loaded = _load(cache)
        if loaded is None:
            self.db = self._compile(flags)
            _save(cache, self.db, flags, self.unsupported)
        else:
            self.db, flags, self.unsupported = loaded
        self.scratch = hyperscan.Scratch(self.db) if self.db is not None else None
        # index -> (regex, its reach, see _reach) for the patterns located
        self.locates = {i: (rx, _reach(rx)) for i, f in flags.items() if not f & hyperscan.HS_FLAG_SINGLEMATCH
                        for rx in [re.compile(patterns[i], re.IGNORECASE if i in folded else 0)]}

    def _compile(self, flags: dict[int, int]):
        try:
            return self._db(flags)
        except hyperscan.error:
            pass
        # Something did not compile: find out pattern by pattern (slower, only on odd taxonomies).
        for i in list(flags):
            for f in (flags[i], flags[i] | hyperscan.HS_FLAG_SINGLEMATCH):
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

    def which(self, text: str) -> dict:
        """The indices of the patterns found in one ASCII ``text`` (as dict keys)."""
        found: dict = {}
        if text and self.db is not None:
            self.db.scan(text.encode("ascii"), match_event_handler=_note, context=found, scratch=self.scratch)
        return found

    def spans(self, texts: list[str]) -> list[dict[int, tuple[int, int] | None]]:
        """Per ASCII text, pattern index -> span of its ``re.search`` match (None: detected only)."""
        out: list[dict] = []
        if self.db is None:
            return [{} for _ in texts]
        locates, scan, scratch = self.locates, self.db.scan, self.scratch

        def on_match(pid, start, end, flags, found):
            if pid in locates:
                old = found.get(pid)
                if old is None or end < old:
                    found[pid] = end
            else:
                found[pid] = None
            return False

        for text in texts:
            found: dict = {}
            if text:
                scan(text.encode("ascii"), match_event_handler=on_match, context=found, scratch=scratch)
                for pid, end in found.items():
                    if end is None:
                        continue
                    regex, reach = locates[pid]
                    m = regex.search(text, end - reach if reach is not None and end > reach else 0)
                    found[pid] = m.span() if m else None
            out.append(found)
        return out


def _note(pid, start, end, flags, found):
    found[pid] = None
    return False


# Compiling ~200 patterns takes about a second; the compiled database is kept in the user's cache
# directory, keyed by the patterns and flags, so only the first run after a taxonomy edit pays it.

_CACHE_VERSION = 3  # bump when how patterns are compiled changes
CACHE_KEEP = 32  # databases kept (each taxonomy edit makes a new one); the least recently used go


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
        db = hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
    except Exception:  # missing, truncated or from another Hyperscan build: compile again
        return None
    try:
        os.utime(path)  # used now: the last to be pruned
    except OSError:
        pass
    return db, flags, [int(i) for i in meta["unsupported"]]


def _save(path: Path, db, flags: dict[int, int], unsupported: list[int]) -> None:
    if db is None:
        return
    from ..io import atomic_write_bytes, atomic_write_text

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path.with_suffix(".json"), json.dumps({"flags": flags, "unsupported": unsupported}))
        atomic_write_bytes(path, hyperscan.dumpb(db))
        _prune(path.parent, CACHE_KEEP)
    except OSError:  # a read-only home: no cache, just slower
        pass


def _prune(folder: Path, keep: int) -> None:
    """Delete all but the ``keep`` most recently used databases in ``folder`` (with their metadata)."""
    found = []
    for db_file in folder.glob("*.hsdb"):
        try:
            found.append((db_file.stat().st_mtime, db_file))
        except OSError:  # deleted meanwhile by another process pruning
            continue
    for _, db_file in sorted(found, reverse=True)[keep:]:
        for stale in (db_file, db_file.with_suffix(".json")):
            try:
                stale.unlink()
            except OSError:
                pass
