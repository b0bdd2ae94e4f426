"""Helpers for writing the survey in notebooks: citations, tables of papers, figures, style.

Their outputs carry Pandoc citations (``[@key]``) that the assembler resolves, in the
notebook's markdown outputs as in its markdown cells.
"""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

STYLE = Path(__file__).with_name("survey.mplstyle")


class Citation(Markdown):
    """Pandoc citation of one or more keys: ``[@a; @b]``. Usable as markdown output or in f-strings."""

    def __init__(self, keys: list[str]):
        self.keys = list(keys)
        super().__init__("[" + "; ".join(f"@{k}" for k in self.keys) + "]" if self.keys else "")

    def __str__(self) -> str:
        return self.data


def cite(*keys) -> Citation:
    """``cite("a", "b")`` or ``cite(["a", "b"])`` -> the citation ``[@a; @b]``."""
    flat: list[str] = []
    for k in keys:
        if isinstance(k, str):
            flat.append(k)
        else:
            flat.extend(k)
    return Citation(flat)


def md(text: str) -> Markdown:
    """Markdown output (may contain citations) for computed prose, e.g. counts that follow the corpus."""
    return Markdown(text)


def use_style() -> None:
    """Apply surveylib's shared matplotlib style, so every figure of the survey looks alike."""
    import matplotlib.pyplot as plt

    plt.style.use(str(STYLE))


def _cell_text(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def paper_frame(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """The table as plain strings: chosen ``columns`` renamed to their headers, list values
    joined, missing values empty, and a Reference column citing each row's key (the index)."""
    out = pd.DataFrame(index=range(len(frame)))
    for name, header in columns.items():
        out[header] = [_cell_text(v) for v in frame[name]] if name in frame else ""
    out["Reference"] = [f"[@{k}]" for k in frame.index]
    return out


def paper_table(frame: pd.DataFrame, columns: dict[str, str], caption: str, label: str | None = None):
    """A numbered, captioned table of papers (see :func:`paper_frame`) for the survey."""
    from .build.outputs import table

    return table(paper_frame(frame, columns), caption=caption, label=label)


def table(data, caption: str, label: str | None = None):
    """A numbered, captioned table (a DataFrame or HTML) for the survey."""
    from .build.outputs import table as _table

    return _table(data, caption=caption, label=label)


def figure(fig, caption: str, label: str | None = None):
    """A numbered, captioned matplotlib figure for the survey (closes ``fig``)."""
    from .build.outputs import figure as _figure

    return _figure(fig, caption=caption, label=label)


class PaperView:
    """Rich HTML view of papers for JupyterLab: key, title, themes and a folded abstract."""

    def __init__(self, frame: pd.DataFrame, themes: list[str] = (), limit: int = 50):
        self.frame, self.themes, self.limit = frame, list(themes), limit

    def _repr_html_(self) -> str:
        rows = []
        for key, row in self.frame.head(self.limit).iterrows():
            tags = [t for t in self.themes if t in row and bool(row[t])]
            sub = [str(row.get(f"{t}_subtheme")) for t in tags if row.get(f"{t}_subtheme")]
            badges = " ".join(f"<span style='background:#eef;border-radius:3px;padding:0 4px'>{html.escape(t)}</span>"
                              for t in tags + sub)
            link = row.get("code_url") or row.get("project_url")
            link_html = f" <a href='{html.escape(str(link), quote=True)}'>code</a>" if isinstance(link, str) else ""
            rows.append(
                f"<details><summary><code>{html.escape(str(key))}</code> {html.escape(str(row['title']))}"
                f" {badges}{link_html}</summary><p style='max-width:60em'>{html.escape(str(row.get('abstract', '')))}"
                f"</p></details>")
        more = len(self.frame) - self.limit
        tail = f"<p>… and {more} more</p>" if more > 0 else ""
        return f"<div><p><b>{len(self.frame)}</b> paper(s)</p>{''.join(rows)}{tail}</div>"

    def __repr__(self) -> str:
        return f"PaperView({len(self.frame)} papers)"
