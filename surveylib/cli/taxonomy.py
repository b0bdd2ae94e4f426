"""survey taxonomy: classify the corpus, apply overrides, write build/taxonomy.csv, build/review.csv
(the borderline decisions) and the bib keywords."""
from __future__ import annotations

from . import add_config_options, config_from


def register(sub) -> None:
    p = sub.add_parser("taxonomy", help="classify the corpus into the themes (overrides applied)",
                       description="Classify every paper of the corpus into the themes of the taxonomy file, "
                                   "apply bib/overrides.csv (which always wins), write build/taxonomy.csv and "
                                   "put each paper's themes into its keywords in the bibliography. The decisions "
                                   "closest to a theme's threshold, which a single phrase decided, go to "
                                   "build/review.csv for you to confirm or correct in bib/overrides.csv.")
    add_config_options(p)
    p.add_argument("--no-bib", action="store_true", help="do not write the themes into the bibliography")
    p.add_argument("--margin", type=float, default=None, metavar="W",
                   help="a pass counts as narrow (and goes to build/review.csv) below threshold + W "
                        "(signal-weight units; default 1.0)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..io import atomic_write_text, project_lock
    from ..taxonomy import corpus_keywords, corpus_taxonomy, load_taxonomy, review_queue
    from ..taxonomy.review import MARGIN
    from .classify import to_csv_text

    config = config_from(args)
    taxonomy = load_taxonomy(config.taxonomy)
    names = taxonomy.names
    # One hold of the project lock for the CSV and the bib keywords, so no other command sees
    # (or writes) one without the other; generate_bib re-enters the same lock.
    with project_lock(config.root, "taxonomy"):
        frame = corpus_taxonomy(config)
        out = config.output / "taxonomy.csv"
        atomic_write_text(out, to_csv_text(frame))
        counts = ", ".join(f"{t}: {int(frame[t].sum())}" for t in names)
        print(f"taxonomy: {len(frame)} papers ({counts}) -> {out}")
        review = review_queue(frame, taxonomy, MARGIN if args.margin is None else args.margin)
        review_out = config.output / "review.csv"
        atomic_write_text(review_out, review.to_csv(index_label="key"))
        print(f"review: {len(review)} decisions near a threshold -> {review_out} "
              f"(confirm or correct them in {config.overrides.name})")
        if not args.no_bib:
            from ..bibliography import generate_bib

            generate_bib(config, keywords=corpus_keywords(config, frame=frame))
            print(f"keywords written to {config.bib}")
    return 0
