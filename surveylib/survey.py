"""The notebook-facing view of a project: ``Survey`` holds its config, corpus and taxonomy.

    import surveylib as sl
    survey = sl.open_survey()                 # finds survey.toml above the working directory
    survey.papers(theme="token_compression")  # taxonomy rows of one theme, indexed by key
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import pandas as pd

from .config import Config, load_config
from .corpus import IngestReport
from .errors import SurveyError


class Survey:
    """One survey project. Everything is loaded lazily and read-only: nothing here writes files."""

    def __init__(self, config: Config):
        self.config = config

    # --- data -----------------------------------------------------------------------------

    @cached_property
    def _ingested(self) -> tuple[pd.DataFrame, IngestReport]:
        from .build.snapshot import shared_frames

        shared = shared_frames(self.config)  # in a `survey build` kernel: computed once for all notebooks
        if shared is not None:
            return shared["corpus"], shared["report"]
        from .bibliography import with_keys
        from .sources import ingest

        corpus, report = ingest(self.config.source_files(), root=self.config.root)
        return with_keys(corpus, self.config.keys).set_index("key", drop=False), report

    @property
    def corpus(self) -> pd.DataFrame:
        """The corpus: one row per paper, indexed by citation key."""
        return self._ingested[0]

    @property
    def report(self) -> IngestReport:
        """What ingest did (counts, skipped blocks, near-duplicates)."""
        return self._ingested[1]

    @cached_property
    def taxonomy(self) -> pd.DataFrame:
        """The classified corpus with the author's overrides applied, indexed by citation key."""
        from .build.snapshot import shared_frames
        from .taxonomy import corpus_taxonomy

        shared = shared_frames(self.config)
        if shared is not None:
            return shared["taxonomy"]
        return corpus_taxonomy(self.config, self.corpus.reset_index(drop=True))

    @cached_property
    def themes(self) -> list[str]:
        """Theme names, in the order of the taxonomy file."""
        from .taxonomy import load_taxonomy

        return [t.name for t in load_taxonomy(self.config.taxonomy).themes]

    @cached_property
    def keys(self) -> set[str]:
        """Every citable key: the corpus's and any the author added to the .bib by hand."""
        keys = set(self.corpus.index)
        if self.config.bib.exists():
            from .bibliography import read_bib

            keys |= {entry.key for entry in read_bib(self.config.bib).entries}
        return keys

    # --- lookups --------------------------------------------------------------------------

    def papers(self, theme: str | None = None, subtheme: str | None = None,
               modality: str | None = None, contribution: str | None = None) -> pd.DataFrame:
        """Taxonomy rows filtered by theme, sub-theme (of that theme), modality and contribution."""
        frame = self.taxonomy
        if theme is not None:
            self._check_theme(theme)
            frame = frame[frame[theme].astype(bool)]
            if subtheme is not None:
                frame = frame[frame[f"{theme}_subtheme"] == subtheme]
        elif subtheme is not None:
            raise SurveyError("a sub-theme needs its theme", hint="pass theme=... as well")
        if modality is not None:
            frame = frame[frame["modalities"].map(lambda ms: modality in (ms or []))]
        if contribution is not None:
            frame = frame[frame["contribution"] == contribution]
        return frame

    def paper(self, key: str) -> pd.Series:
        """One paper's taxonomy row by citation key; an unknown key suggests close ones."""
        if key in self.taxonomy.index:
            return self.taxonomy.loc[key]
        from rapidfuzz import process

        close = [m[0] for m in process.extract(key, list(self.taxonomy.index), limit=3)]
        raise SurveyError(f"no paper with key {key!r}", hint=f"did you mean {', '.join(close)}?")

    def find(self, fragment: str) -> pd.DataFrame:
        """Papers whose title contains ``fragment`` (case-insensitive)."""
        mask = self.taxonomy["title"].str.contains(fragment, case=False, regex=False)
        return self.taxonomy[mask]

    def crosstab(self, theme: str, rows: str = "subtheme", cols: str = "modalities") -> pd.DataFrame:
        """Counts of the theme's papers by two columns; list columns (modalities) are exploded,
        and ``"subtheme"`` means the theme's own sub-theme column."""
        frame = self.papers(theme=theme)
        rows = f"{theme}_subtheme" if rows == "subtheme" else rows
        cols = f"{theme}_subtheme" if cols == "subtheme" else cols
        data = frame[[rows, cols]].copy()
        for col in (rows, cols):
            if data[col].map(lambda v: isinstance(v, (list, tuple))).any():
                data[col] = data[col].map(lambda v: list(v) if isinstance(v, (list, tuple)) and v else ["none"])
                data = data.explode(col)
        return pd.crosstab(data[rows], data[cols])

    def _check_theme(self, theme: str) -> None:
        if theme not in self.themes:
            raise SurveyError(f"unknown theme {theme!r}", where=str(self.config.taxonomy),
                              hint=f"themes are: {', '.join(self.themes)}")

    # --- authoring ------------------------------------------------------------------------

    def cited(self, notebook: str | Path) -> list[str]:
        """Keys a notebook cites in its prose and in explicit ``cite(...)`` calls, in order."""
        from .check import notebook_citations

        return [c.key for c in notebook_citations(self._notebook_path(notebook))]

    def uncited(self, notebook: str | Path, theme: str) -> pd.DataFrame:
        """The theme's papers that ``notebook`` does not cite yet (so new papers are not missed)."""
        cited = set(self.cited(notebook))
        frame = self.papers(theme=theme)
        return frame.loc[[k for k in frame.index if k not in cited],
                         ["title", f"{theme}_subtheme", f"{theme}_score", f"{theme}_evidence"]]

    def paper_table(self, frame: pd.DataFrame, columns: dict[str, str], caption: str, label: str | None = None):
        """A numbered table of papers: the chosen ``columns`` (name -> header) plus a Reference
        column citing each row's key, for display in the notebook and the assembled survey."""
        from .authoring import paper_table

        return paper_table(frame, columns, caption=caption, label=label)

    def view(self, frame: pd.DataFrame | None = None, limit: int = 50):
        """A rich HTML view of papers (title, key, themes, abstract) for JupyterLab."""
        from .authoring import PaperView

        return PaperView(self.taxonomy if frame is None else frame, themes=self.themes, limit=limit)

    def _notebook_path(self, notebook: str | Path) -> Path:
        path = Path(notebook)
        for candidate in (path, self.config.root / path, self.config.root / "notebooks" / path):
            if candidate.is_file():
                return candidate
        raise SurveyError(f"no notebook {notebook}", hint="name a file under notebooks/")


def open_survey(path: str | Path | None = None) -> Survey:
    """The survey project at ``path`` (a survey.toml or its folder), or the one above the
    working directory. Notebooks call this with no argument."""
    return Survey(load_config(path))
