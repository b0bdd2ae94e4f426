"""survey eval: precision, recall and F1 per theme, and macro-F1, against a labelled JSON Lines file."""
from __future__ import annotations

import json
from pathlib import Path

from . import add_config_options
from .classify import add_taxonomy_option, taxonomy_path


def register(sub) -> None:
    p = sub.add_parser("eval", help="measure the classifier against labelled papers",
                       description="Classify the papers of a labelled JSON Lines file (title, abstract, one "
                                   "true/false field per theme) and report precision, recall and F1 per theme, "
                                   "macro-F1, and the misclassified titles with their evidence.")
    add_config_options(p)
    p.add_argument("labels", help="labelled JSON Lines file")
    add_taxonomy_option(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..taxonomy import classify, evaluate, load_taxonomy, read_labels

    taxonomy = load_taxonomy(taxonomy_path(args))
    labels = read_labels(Path(args.labels))
    report = evaluate(classify(labels, taxonomy), labels)
    print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) if args.json else report)
    return 0
