"""survey classify: classify any papers given as JSON Lines (title, abstract) into a CSV. No overrides."""
from __future__ import annotations

import json
from pathlib import Path

from . import add_config_options


def register(sub) -> None:
    p = sub.add_parser("classify", help="classify papers from a JSON Lines file into the themes",
                       description="Classify papers given as JSON Lines (one object per line with 'title' and "
                                   "'abstract'). The CSV has the input columns plus, per theme, true/false, "
                                   "score, sub-theme and evidence, the facets and the facts. Overrides are "
                                   "never applied here.")
    add_config_options(p)
    p.add_argument("input", help="JSON Lines file with title and abstract")
    p.add_argument("-o", "--output", required=True, help="CSV file to write")
    add_taxonomy_option(p)
    p.set_defaults(func=run)


def add_taxonomy_option(parser) -> None:
    """--taxonomy, which :func:`taxonomy_path` reads: the commands that classify papers from outside the corpus."""
    parser.add_argument("--taxonomy", metavar="TOML", help="taxonomy file (default: the [taxonomy] file of survey.toml)")


def taxonomy_path(args) -> Path:
    """The taxonomy file: --taxonomy, else the project's, else an error saying how to give one."""
    from ..config import load_config
    from ..errors import SurveyError

    if getattr(args, "taxonomy", None):
        return Path(args.taxonomy)
    try:
        return load_config(getattr(args, "config", None)).taxonomy
    except SurveyError:
        raise SurveyError("no taxonomy file: not inside a survey project", hint="pass --taxonomy FILE.toml") \
            from None


def read_jsonl_frame(path: Path):
    """The input rows as a DataFrame, every column kept; a bad line is an error naming it."""
    import pandas as pd

    from ..errors import SurveyError
    from ..io import read_json_lines

    rows = []
    for n, record in read_json_lines(path, "input"):
        if not str(record.get("title") or "").strip() and not str(record.get("abstract") or "").strip():
            raise SurveyError("line has neither a title nor an abstract", where=f"{path}:{n}")
        rows.append(record)
    frame = pd.DataFrame(rows)
    for col in ("title", "abstract"):
        if col not in frame.columns:
            frame[col] = ""
    return frame


def to_csv_text(frame) -> str:
    """CSV text of a classified frame: lists as ';'-joined values, claims as JSON."""
    out = frame.copy()
    for col in out.columns:
        if out[col].map(lambda v: isinstance(v, (list, dict))).any():
            if col == "claims" or out[col].map(lambda v: isinstance(v, dict) or
                                               (isinstance(v, list) and any(isinstance(x, dict) for x in v))).any():
                out[col] = out[col].map(lambda v: json.dumps(v, ensure_ascii=False))
            else:
                out[col] = out[col].map(lambda v: ";".join(map(str, v)) if isinstance(v, list) else v)
    return out.to_csv(index=out.index.name is not None)


def run(args) -> int:
    from ..io import atomic_write_text
    from ..taxonomy import classify, load_taxonomy

    taxonomy = load_taxonomy(taxonomy_path(args))
    frame = read_jsonl_frame(Path(args.input))
    result = classify(frame, taxonomy)
    atomic_write_text(args.output, to_csv_text(result))
    counts = ", ".join(f"{t}: {int(result[t].sum())}" for t in taxonomy.names)
    print(f"classified {len(result)} papers ({counts}) -> {args.output}")
    return 0
