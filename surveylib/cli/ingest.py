"""survey ingest: read the sources and print the ingest report."""
from __future__ import annotations

import json

from . import add_config_options, config_from


def register(sub) -> None:
    p = sub.add_parser("ingest", help="read the abstract sources and report what was found",
                       description="Read the sources named in survey.toml (or given here), merge duplicate "
                                   "listings by normalised title, and report counts, skipped blocks "
                                   "(with file:line) and near-duplicate candidates.")
    add_config_options(p)
    p.add_argument("sources", nargs="*", help="source files (default: [corpus] sources in survey.toml)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..sources import ingest

    config = config_from(args, sources=args.sources or None)
    _, report = ingest(config.source_files(), root=config.root)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0
