"""survey check: cited, unknown and uncited theme papers per notebook."""
from __future__ import annotations

import json

from . import add_config_options, config_from


def register(sub) -> None:
    p = sub.add_parser("check", help="check the notebooks' citations against the bibliography and taxonomy",
                       description="For each notebook: the keys it cites, keys missing from the bibliography "
                                   "(an error naming notebook, cell and key), and the papers of its theme "
                                   "(notebook metadata surveylib.theme) that it does not cite yet.")
    add_config_options(p)
    p.add_argument("notebooks", nargs="*", help="notebooks to check (default: [build] notebooks in survey.toml)")
    p.add_argument("--json", action="store_true",
                   help='print {"notebooks": {name: {"cited": [...], "unknown": [...], '
                        '"uncited_theme_papers": [...], ...}}}')
    p.set_defaults(func=run)


def run(args) -> int:
    from ..check import check_notebooks, format_report
    from ..survey import Survey

    survey = Survey(config_from(args))
    results = check_notebooks(survey, args.notebooks or None)
    if args.json:
        print(json.dumps({"notebooks": {n: r.to_dict() for n, r in results.items()}}, indent=2))
    else:
        print(format_report(results))
    return 1 if any(r.unknown for r in results.values()) else 0
