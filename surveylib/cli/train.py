"""survey train: learn the classifier's cue weights from labelled papers (see surveylib.taxonomy.learned)."""
from __future__ import annotations

from pathlib import Path

from . import add_config_options
from .classify import add_taxonomy_option, taxonomy_path


def register(sub) -> None:
    p = sub.add_parser("train", help="learn the classifier's word cues from labelled papers",
                       description="Fit the learned part of the classifier on a labelled JSON Lines file (title, "
                                   "abstract, one true/false field per theme, as for survey eval) and write it to "
                                   "the file the taxonomy's `learned` setting names. Needs scikit-learn.")
    add_config_options(p)
    p.add_argument("labels", help="labelled JSON Lines file (e.g. bib/labelled.jsonl)")
    add_taxonomy_option(p)
    p.add_argument("-o", "--output", metavar="JSON", help="model file (default: the taxonomy's settings.learned)")
    p.add_argument("--themes", help="comma-separated themes to learn (default: all)")
    p.add_argument("--max-share", type=float, default=0.05, metavar="F",
                   help="leave out words found in more than this share of the papers (default: 0.05)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import SurveyError
    from ..taxonomy import load_taxonomy, read_labels
    from ..taxonomy.learned import train, write_learned
    from ..taxonomy.model import learned_path

    path = taxonomy_path(args)
    output = Path(args.output) if args.output else learned_path(path)
    if output is None:
        raise SurveyError("the taxonomy names no learned model file", where=f"{path}: [settings]",
                          hint='add learned = "learned.json" to [settings], or pass -o FILE')
    taxonomy = load_taxonomy(path, learned=False)
    themes = [t.strip() for t in args.themes.split(",")] if args.themes else None
    learned = train(read_labels(Path(args.labels)), taxonomy, themes, max_share=args.max_share)
    write_learned(learned, output)
    cues = ", ".join(f"{name}: {len(m.cues)}" for name, m in learned.themes.items())
    print(f"learned from {learned.papers} papers ({cues} cues) -> {output}")
    return 0
