"""survey build: execute the notebooks and assemble the survey (HTML, LaTeX, PDF)."""
from __future__ import annotations

import argparse
import textwrap

from . import add_config_options, config_from


DESCRIPTION = "\n\n".join(textwrap.fill(p, 88) for p in (
    "Execute the notebooks listed in survey.toml (each in a fresh kernel, cached by content), resolve "
    "citations, and write build/survey.html, build/latex/ and build/survey.pdf. A failed build leaves the "
    "previous outputs untouched.",
    "A notebook runs again only when its code, survey.toml or a file under bib/ changed (or the citations "
    "of a notebook its code reads); an edit to prose only re-exports.",
    "Builds, `survey bib` and `survey taxonomy` take one project lock: a second command waits "
    "(SURVEYLIB_LOCK_TIMEOUT seconds, default 600). On Linux, kernels are forked from one process that has "
    "the common imports done (SURVEYLIB_FORK_KERNELS=0 starts each kernel from scratch).",
))


def register(sub) -> None:
    p = sub.add_parser("build", help="assemble the survey from the notebooks (HTML, LaTeX, PDF)",
                       description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_options(p)
    p.add_argument("--to", metavar="FORMATS", default=None,
                   help="comma-separated formats: html, latex, pdf (default: [build] formats in survey.toml)")
    p.add_argument("--jobs", "-j", type=int, default=2, metavar="N", help="notebooks executed at once (default 2)")
    p.add_argument("--no-cache", action="store_true", help="re-execute every notebook")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..build import build_survey

    config = config_from(args)
    formats = args.to.split(",") if args.to else config.formats
    build_survey(config, formats=formats, jobs=args.jobs, use_cache=not args.no_cache,
                 progress=None if args.quiet else (lambda msg: print(msg, flush=True)))
    return 0
