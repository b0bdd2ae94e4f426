"""survey bib: write bib/survey.bib from the corpus, keeping the author's hand edits."""
from __future__ import annotations

import argparse

from . import add_config_options, config_from


DESCRIPTION = "Read the sources, give every paper a citation key, and write the BibTeX file named in survey.toml."


class _BibParser(argparse.ArgumentParser):
    """Adds the merge rules to the help when it is shown: they live in the bibliography
    package, whose import (pandas) would otherwise cost every `survey` command 0.3 s."""

    def format_help(self) -> str:
        from ..bibliography import RULES

        self.description = DESCRIPTION + "\n\n" + RULES
        return super().format_help()


def register(sub) -> None:
    p = sub.add_parser("bib", help="write the bibliography (bib/survey.bib), keeping hand edits",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.__class__ = _BibParser
    add_config_options(p)
    p.add_argument("sources", nargs="*", help="source files (default: [corpus] sources in survey.toml)")
    p.add_argument("--bib", metavar="PATH", help="the .bib to write (default: [bibliography] bib)")
    p.add_argument("--keys", metavar="PATH", help="the key pin file (default: [bibliography] keys)")
    p.add_argument("--metadata", metavar="PATH", help="arXiv metadata cache (default: [bibliography] metadata)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..bibliography import generate_bib
    from ..io import project_lock

    config = config_from(args, sources=args.sources or None, bib=args.bib, keys=args.keys, metadata=args.metadata)
    # The whole command under the project lock (generate_bib re-enters it), so a second
    # command waits before reading anything this one is about to rewrite.
    with project_lock(config.root, "bib"):
        print(generate_bib(config))
    return 0
