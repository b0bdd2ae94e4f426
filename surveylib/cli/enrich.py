"""survey enrich: fill authors, year and arXiv id from the arXiv API into the metadata cache."""
from __future__ import annotations

import json

from . import add_config_options, config_from


def register(sub) -> None:
    p = sub.add_parser(
        "enrich", help="look up authors, year and arXiv id on the arXiv API (cached in bib/metadata.json)",
        description="For each paper lacking authors, year or arXiv id, search the arXiv API by exact title and "
                    "accept the answer only when the returned title matches. Answers (found, not found, "
                    "ambiguous) are cached in [bibliography] metadata, written after every paper, so an "
                    "interrupted run resumes; `survey bib` reads the cache and never needs the network. "
                    "One request every --delay seconds (the arXiv API asks for 3). Offline it does nothing.")
    add_config_options(p)
    p.add_argument("--limit", type=int, metavar="N", help="query at most N papers this run")
    p.add_argument("--dry-run", action="store_true", help="list the papers that would be queried; no request, no write")
    p.add_argument("--offline", action="store_true", help="do nothing (for scripts that must not touch the network)")
    p.add_argument("--recheck", action="store_true", help="query again the papers cached as not found or ambiguous")
    p.add_argument("--base-url", metavar="URL", help="API endpoint (default: [enrich] base_url, else "
                                                     "https://export.arxiv.org/api/query)")
    p.add_argument("--delay", type=float, metavar="SECONDS", help="pause between requests (default 3)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="give up on a request after this long (default 30)")
    p.add_argument("--metadata", metavar="PATH", help="the cache file (default: [bibliography] metadata)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..enrich import enrich

    config = config_from(args, metadata=args.metadata)
    report = enrich(config, limit=args.limit, dry_run=args.dry_run, offline=args.offline,
                    base_url=args.base_url, delay=args.delay, timeout=args.timeout,
                    recheck=args.recheck, progress=not (args.no_progress or args.json))
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0
