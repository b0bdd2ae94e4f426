"""The project's taxonomy: the corpus, keyed by citation key, classified, with overrides applied."""
from __future__ import annotations

import pandas as pd

from .classify import classify
from .model import load_taxonomy
from .overrides import apply_overrides, read_overrides


def _with_keys(corpus: pd.DataFrame, keys_path) -> pd.DataFrame:
    """The corpus with a ``key`` column, as the bibliography assigns keys (pins honoured, none written)."""
    try:
        from ..bibliography import with_keys
    except ImportError:
        with_keys = None
    if with_keys is not None:
        keyed = with_keys(corpus, keys_path)
        if "key" not in keyed.columns and keyed.index.name == "key":
            keyed = keyed.reset_index()
        return keyed
    from ..bibliography.keys import assign_keys, read_pins

    pins, _ = read_pins(keys_path)
    keys, _ = assign_keys(corpus["title"].tolist(), pins)
    keyed = corpus.copy()
    keyed["key"] = keys
    return keyed


def corpus_taxonomy(config, corpus: pd.DataFrame | None = None) -> pd.DataFrame:
    """The classified corpus, indexed by citation key, with ``bib/overrides.csv`` applied.

    ``config``: the project :class:`~surveylib.config.Config`. ``corpus``: an already ingested
    corpus DataFrame (default: ingest ``config.source_files()``). Columns: the corpus columns plus
    everything :func:`classify` adds.
    """
    if corpus is None:
        from ..sources import ingest

        corpus, _ = ingest(config.source_files(), root=config.root)
    taxonomy = load_taxonomy(config.taxonomy)
    keyed = _with_keys(corpus, config.keys)
    frame = classify(keyed.set_index("key", drop=True), taxonomy)
    return apply_overrides(frame, read_overrides(config.overrides), taxonomy)


def corpus_keywords(config, corpus: pd.DataFrame | None = None, frame: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """Citation key -> the themes the paper is in (file order), for the BibTeX ``keywords`` field."""
    if frame is None:
        frame = corpus_taxonomy(config, corpus)
    names = load_taxonomy(config.taxonomy).names
    return {key: [t for t in names if bool(row[t])] for key, row in zip(frame.index, frame[names].to_dict("records"))}
