"""Metadata enrichment: authors, year and arXiv id for papers that lack them, from the arXiv API.

The corpus pages carry titles and abstracts only. :func:`enrich` asks the arXiv API for each
paper by its exact title, accepts a returned record only when its title matches (fuzzily, on
:func:`~surveylib.corpus.normalize_title`, with the same numbers), and keeps every answer in a
JSON cache (``[bibliography] metadata``, default ``bib/metadata.json``) that the author commits,
so ``survey bib`` and every build stay offline and reproducible.

Cache format::

    {"version": 1, "papers": {"<normalised title>": {
        "status": "found" | "not_found" | "ambiguous",
        "title": "<arXiv title>", "authors": [...], "year": 2024, "eprint": "2401.01234",
        "archive_prefix": "arXiv", "primary_class": "cs.CV", "url": "https://arxiv.org/abs/2401.01234",
        "query": "<our title>", "checked": "<ISO date>", "note": "..."}}}

Only ``found`` records carry metadata; ``not_found`` and ``ambiguous`` say why in ``note`` (and
``candidates``), and are never guessed. Entry points: :func:`load_metadata`, :func:`enrich`;
the pieces (:class:`ArxivClient`, :func:`match_title`) are usable on their own.
"""
from __future__ import annotations

import datetime as _dt
import email.utils
import http.client
import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

from . import __version__
from .corpus import IngestReport, Paper, normalize_title
from .errors import SourceError, SurveyError
from .io import atomic_write_text, project_lock

CACHE_VERSION = 1
#: The arXiv API query endpoint (https://info.arxiv.org/help/api/user-manual.html).
DEFAULT_BASE_URL = "https://export.arxiv.org/api/query"
#: The arXiv API terms ask for no more than one request every three seconds.
DEFAULT_DELAY = 3.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
#: Minimum fuzz.ratio (0-100) between normalised titles for a returned record to count as a match.
DEFAULT_THRESHOLD = 95.0
DEFAULT_CONTACT = "https://github.com/surveylib/surveylib"
STATUSES = ("found", "not_found", "ambiguous")
_MAX_RESULTS = 5
_MAX_RETRY_AFTER = 120.0


# --- the cache ----------------------------------------------------------------------------

def load_metadata(path: str | Path) -> dict[str, dict]:
    """The cache at ``path`` as ``{normalised title: record}``; ``{}`` when the file is absent.

    A file that is not the cache's JSON raises :class:`SurveyError` naming it.
    """
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise SurveyError(f"the metadata cache is not valid JSON ({exc})",
                          where=f"{path}:{line}" if line else str(path),
                          hint="fix the file by hand, or delete it and run `survey enrich` again") from None
    papers = data.get("papers") if isinstance(data, dict) else None
    if not isinstance(papers, dict) or not all(isinstance(r, dict) for r in papers.values()):
        raise SurveyError('the metadata cache has no "papers" object of records', where=str(path),
                          hint='expected {"version": 1, "papers": {"<normalised title>": {...}}}')
    if data.get("version", CACHE_VERSION) != CACHE_VERSION:
        raise SurveyError(f"metadata cache version {data.get('version')!r} is not {CACHE_VERSION}",
                          where=str(path), hint="upgrade surveylib, or delete the file and re-run `survey enrich`")
    for key, record in papers.items():
        if record.get("status") not in STATUSES:
            raise SurveyError(f"record has status {record.get('status')!r}, not one of {', '.join(STATUSES)}",
                              where=f"{path}: {key!r}", hint="fix or delete that record")
    return papers


def dump_metadata(papers: dict[str, dict]) -> str:
    """The cache file's text: sorted keys, one field per line, so diffs stay small."""
    return json.dumps({"version": CACHE_VERSION, "papers": dict(sorted(papers.items()))},
                      indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def save_metadata(path: str | Path, papers: dict[str, dict]) -> None:
    """Write the cache atomically (a crash leaves the previous complete file)."""
    atomic_write_text(path, dump_metadata(papers))


# --- matching (pure) ----------------------------------------------------------------------

_NUMBER = re.compile(r"\d+")


def title_score(ours: str, theirs: str) -> float:
    """Similarity 0-100 of two titles on their normalised forms; 0 when their numbers differ
    ("Llama 2" vs "Llama 3" is a different paper however close the rest is)."""
    a, b = normalize_title(ours), normalize_title(theirs)
    if sorted(_NUMBER.findall(a)) != sorted(_NUMBER.findall(b)):
        return 0.0
    return float(fuzz.ratio(a, b))


def record_from_paper(paper: Paper) -> dict:
    """The metadata fields of a cache record, from a Paper parsed out of an arXiv feed."""
    return {"title": paper.title, "authors": list(paper.authors), "year": paper.year,
            "eprint": paper.eprint, "archive_prefix": paper.archive_prefix or "arXiv",
            "primary_class": paper.primary_class, "url": paper.url}


def match_title(title: str, candidates: list[Paper], threshold: float = DEFAULT_THRESHOLD) -> dict:
    """Decide what the arXiv records returned for ``title`` say about it.

    Returns a cache record without ``checked``/``query``: ``found`` with the metadata when exactly
    one distinct arXiv record matches (an exact normalised match beats merely close ones);
    ``ambiguous`` when several distinct records match equally well; ``not_found`` otherwise,
    naming the closest rejected title in ``note``.
    """
    scored = sorted(((title_score(title, c.title), c) for c in candidates), key=lambda sc: -sc[0])
    close = [(s, c) for s, c in scored if s >= threshold]
    # The same eprint listed twice is one record.
    distinct: dict[str, tuple[float, Paper]] = {}
    for s, c in close:
        distinct.setdefault(c.eprint or normalize_title(c.title), (s, c))
    close = list(distinct.values())
    exact = [(s, c) for s, c in close if normalize_title(c.title) == normalize_title(title)]
    pick = exact if exact else close
    if len(pick) == 1:
        score, paper = pick[0]
        note = "exact title match" if exact else f"title matched at {score:.0f}%"
        return {"status": "found", **record_from_paper(paper), "note": note}
    if len(pick) > 1:
        return {"status": "ambiguous",
                "note": f"{len(pick)} arXiv records match this title; left for you to choose",
                "candidates": [{"eprint": c.eprint, "title": c.title, "score": round(s, 1)} for s, c in pick]}
    if scored:
        score, paper = scored[0]
        return {"status": "not_found",
                "note": f"closest arXiv title {paper.title!r} ({paper.eprint}) scored {score:.0f}% "
                        f"< {threshold:.0f}%; rejected",
                "candidates": [{"eprint": c.eprint, "title": c.title, "score": round(s, 1)} for s, c in scored[:3]]}
    return {"status": "not_found", "note": "the arXiv API returned no record with this title"}


def title_query(title: str) -> str:
    """The arXiv ``search_query`` for an exact-title (phrase) search. The words of the normalised
    title are used, since quotes, colons and brackets have meaning in the API's query syntax."""
    return f'ti:"{normalize_title(title)}"'


# --- the HTTP client ----------------------------------------------------------------------

class FetchError(Exception):
    """One query failed for good (after any retries): HTTP error, timeout, or a broken feed."""


class Offline(Exception):
    """The API host cannot be reached at all: no route, DNS failure, connection refused."""


def _is_timeout(exc: BaseException) -> bool:
    reason = getattr(exc, "reason", exc)
    return isinstance(exc, (TimeoutError, socket.timeout)) or isinstance(reason, (TimeoutError, socket.timeout))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def user_agent(contact: str | None = None) -> str:
    """The User-Agent sent to the API: surveylib, its version, and who to contact."""
    return f"surveylib/{__version__} (+{contact or DEFAULT_CONTACT}; literature-survey metadata enrichment)"


class ArxivClient:
    """A polite client of the arXiv API: one request at a time, at least ``delay`` seconds apart,
    a User-Agent, and retries with exponential back-off (``backoff * 2**n`` seconds, or the
    server's Retry-After) on 5xx/429 answers and timeouts.

    :meth:`search_title` returns the Papers of the feed, raises :class:`FetchError` when the query
    failed for good and :class:`Offline` when the host cannot be reached at all.
    """

    def __init__(self, base_url: str = DEFAULT_BASE_URL, delay: float = DEFAULT_DELAY,
                 timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES,
                 backoff: float | None = None, contact: str | None = None,
                 max_results: int = _MAX_RESULTS, sleep=time.sleep):
        self.base_url = base_url
        self.delay = float(delay)
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(delay if backoff is None else backoff)
        self.user_agent = user_agent(contact)
        self.max_results = max_results
        self.requests = 0
        self._sleep = sleep
        self._last: float | None = None

    def url_for(self, title: str) -> str:
        query = urllib.parse.urlencode({"search_query": title_query(title), "start": 0,
                                        "max_results": self.max_results})
        return f"{self.base_url}{'&' if '?' in self.base_url else '?'}{query}"

    def _wait_turn(self) -> None:
        if self._last is not None:
            remaining = self.delay - (time.monotonic() - self._last)
            if remaining > 0:
                self._sleep(remaining)

    def _get(self, url: str) -> str:
        self._wait_turn()
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent,
                                                       "Accept": "application/atom+xml"})
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read().decode("utf-8", errors="replace")
        finally:
            self._last = time.monotonic()

    def search_title(self, title: str) -> list[Paper]:
        url = self.url_for(title)
        attempt = 0
        while True:
            try:
                text = self._get(url)
                break
            except urllib.error.HTTPError as exc:
                retryable = exc.code >= 500 or exc.code == 429
                why = f"HTTP {exc.code} {exc.reason}"
                wait = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", exc)
                if _is_timeout(exc):
                    retryable, why, wait = True, f"no answer within {self.timeout:g} s", None
                elif isinstance(reason, (ConnectionResetError, http.client.HTTPException)):
                    retryable, why, wait = True, f"connection dropped ({reason!r})", None
                else:  # no route, DNS failure, connection refused: nobody to ask
                    raise Offline(str(reason)) from None
            if not retryable or attempt >= self.retries:
                tries = f" after {attempt + 1} attempts" if attempt else ""
                raise FetchError(f"{why}{tries}")
            pause = self.backoff * 2 ** attempt
            if wait is not None:
                pause = max(pause, min(wait, _MAX_RETRY_AFTER))
            self._sleep(pause)
            attempt += 1
        report = IngestReport()
        try:
            from .sources.arxiv_atom import parse_atom

            papers = parse_atom(text, where="arXiv API response", report=report)
        except SourceError as exc:
            raise FetchError(f"malformed feed: {exc.message}") from None
        if report.issues:  # the API reports a bad query as an entry titled "Error"
            raise FetchError(f"the API answered with an error entry: {report.issues[0].reason}")
        return papers


# --- the job ------------------------------------------------------------------------------

@dataclass
class EnrichReport:
    """What :func:`enrich` did. ``results`` holds ``(title, status, note)`` for every paper it
    checked this run (status ``found``/``not_found``/``ambiguous``/``error``/``would query``)."""

    cache: str = ""
    papers: int = 0
    complete: int = 0           # already had authors, year and eprint in the corpus
    cached: int = 0             # already checked in an earlier run
    to_check: int = 0
    checked: int = 0
    found: int = 0
    not_found: int = 0
    ambiguous: int = 0
    errors: int = 0
    requests: int = 0
    dry_run: bool = False
    offline: bool = False
    offline_reason: str = ""
    results: list[tuple[str, str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        if self.offline:
            return (f"enrich: offline ({self.offline_reason}); nothing was queried and {self.cache} "
                    f"was left as it was. `survey bib` and the build use the cached metadata "
                    f"({self.cached} paper(s) checked so far).")
        head = (f"enrich: {self.papers} papers, {self.complete} already complete, {self.cached} already "
                f"checked (cached in {self.cache}), {self.to_check} to check")
        if self.dry_run:
            lines = [head + "; dry run: nothing queried, nothing written"]
            lines += [f"  would query: {t}" for t, _, _ in self.results]
            return "\n".join(lines)
        lines = [head + f"; checked {self.checked} with {self.requests} request(s): {self.found} found, "
                        f"{self.not_found} not found, {self.ambiguous} ambiguous, {self.errors} error(s)"]
        for title, status, note in self.results:
            if status != "found":
                lines.append(f"  {status}: {title!r}: {note}")
        if self.errors:
            lines.append("  papers with errors were not cached; run `survey enrich` again to retry them")
        remaining = self.to_check - self.checked
        if remaining > 0:
            lines.append(f"  {remaining} paper(s) left for the next run (--limit)")
        return "\n".join(lines)


def _has_metadata(row) -> bool:
    authors = row.get("authors")
    year = row.get("year")
    return bool(authors) and year is not None and str(year) not in ("", "<NA>", "nan") and bool(row.get("eprint"))


def _settings(config) -> dict:
    section = (getattr(config, "extra", None) or {}).get("enrich", {})
    return section if isinstance(section, dict) else {}


def enrich(config, corpus=None, limit: int | None = None, dry_run: bool = False, offline: bool = False,
           base_url: str | None = None, delay: float | None = None, timeout: float | None = None,
           retries: int | None = None, backoff: float | None = None, threshold: float | None = None,
           recheck: bool = False, progress: bool = True) -> EnrichReport:
    """Query the arXiv API for the papers of ``corpus`` that lack authors, year or eprint and are
    not in the cache yet, and record the answers in ``config.metadata``.

    ``corpus`` is the corpus DataFrame (default: ingest the configured sources). ``limit`` caps
    the papers queried this run. ``dry_run`` lists what would be queried, without a request or a
    write. ``offline`` (or an unreachable host at the first request) does nothing and says so.
    Settings left as None come from ``[enrich]`` in survey.toml (``base_url``, ``delay``,
    ``timeout``, ``retries``, ``threshold``, ``contact``) and then the defaults. ``recheck``
    queries again the papers cached as not found or ambiguous. The cache is written after every
    paper, so an interrupted run resumes where it stopped. Returns an :class:`EnrichReport`.
    """
    settings = _settings(config)
    pick = lambda value, name, default: value if value is not None else settings.get(name, default)  # noqa: E731
    cache_path = Path(config.metadata)
    papers = load_metadata(cache_path)
    report = EnrichReport(cache=_display(cache_path, config.root), dry_run=dry_run)
    if corpus is None:
        from .sources import ingest

        corpus, _ = ingest(config.source_files(), root=config.root)

    todo: list[tuple[str, str]] = []
    seen: set[str] = set()
    for row in corpus.to_dict("records"):
        key = normalize_title(row["title"])
        if key in seen:
            continue
        seen.add(key)
        report.papers += 1
        if _has_metadata(row):
            report.complete += 1
        elif key in papers and not (recheck and papers[key].get("status") != "found"):
            report.cached += 1
        else:
            todo.append((key, row["title"]))
    report.to_check = len(todo)
    if limit is not None:
        todo = todo[: max(0, int(limit))]

    if offline:
        report.offline, report.offline_reason = True, "--offline given"
        return report
    if dry_run:
        report.results = [(title, "would query", "") for _, title in todo]
        return report
    if not todo:
        return report

    client = ArxivClient(
        base_url=pick(base_url, "base_url", DEFAULT_BASE_URL),
        delay=float(pick(delay, "delay", DEFAULT_DELAY)),
        timeout=float(pick(timeout, "timeout", DEFAULT_TIMEOUT)),
        retries=int(pick(retries, "retries", DEFAULT_RETRIES)),
        backoff=backoff, contact=settings.get("contact"),
    )
    threshold = float(pick(threshold, "threshold", DEFAULT_THRESHOLD))
    # A second `survey enrich` would race on the cache; other commands only read it (atomically).
    with project_lock(config.root, name="enrich", timeout=1.0):
        bar = _progress(todo, progress)
        try:
            for key, title in bar:
                try:
                    candidates = client.search_title(title)
                except Offline as exc:
                    if report.checked == 0:
                        report.offline, report.offline_reason = True, f"cannot reach {client.base_url}: {exc}"
                        break
                    raise SurveyError(f"lost the connection to {client.base_url}: {exc}",
                                      hint=f"the {report.checked} paper(s) checked so far are saved; "
                                           "run `survey enrich` again to continue") from None
                except FetchError as exc:
                    report.checked += 1
                    report.errors += 1
                    report.results.append((title, "error", str(exc)))
                    continue
                record = {**match_title(title, candidates, threshold), "query": title,
                          "checked": _dt.date.today().isoformat()}
                papers[key] = record
                save_metadata(cache_path, papers)
                report.checked += 1
                setattr(report, record["status"], getattr(report, record["status"]) + 1)
                report.results.append((title, record["status"], record.get("note", "")))
                if hasattr(bar, "set_postfix"):
                    bar.set_postfix(found=report.found, missing=report.not_found + report.ambiguous,
                                    errors=report.errors, refresh=False)
        finally:
            report.requests = client.requests
            if hasattr(bar, "close"):
                bar.close()
    return report


def _progress(items, enabled: bool):
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc="arXiv", unit="paper")


def _display(path: Path, root) -> str:
    try:
        return str(path.resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)
