"""Numbered figures and tables from notebooks: display objects the assembler recognises.

``figure(fig, caption)`` and ``table(df, caption)`` return IPython display objects whose
output carries ``{"surveylib": {"kind", "caption", "label"}}`` metadata. The build numbers
them in document order and renders the caption (markdown; it may cite ``[@key]``) under a
figure or above a table, in HTML and in LaTeX.
"""
from __future__ import annotations

import base64
import html
import io
import re

_LABEL_RE = re.compile(r"[^A-Za-z0-9:_\-]+")


def _meta(kind: str, caption: str, label: str | None) -> dict:
    meta = {"kind": kind, "caption": str(caption)}
    if label:
        meta["label"] = _LABEL_RE.sub("-", str(label)).strip("-")
    return {"surveylib": meta}


class SurveyOutput:
    """A display object with a fixed mime bundle and metadata (what ``display()`` sends)."""

    def __init__(self, data: dict, metadata: dict):
        self.data = data
        self.metadata = metadata

    def _repr_mimebundle_(self, include=None, exclude=None):
        return dict(self.data), dict(self.metadata)

    def __repr__(self) -> str:
        meta = self.metadata["surveylib"]
        return f"<{meta['kind']}: {meta['caption'][:60]}>"


def figure(fig, caption: str, label: str | None = None, dpi: int = 150) -> SurveyOutput:
    """A numbered figure from a matplotlib ``fig``: PNG for HTML, PDF (vector) for LaTeX.

    The figure is closed so the inline backend does not show it a second time.
    """
    data = {"text/plain": f"<Figure: {caption}>"}
    for fmt, mime in (("png", "image/png"), ("pdf", "application/pdf")):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
        data[mime] = base64.b64encode(buf.getvalue()).decode("ascii")
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except Exception:  # not a pyplot figure: nothing to close
        pass
    return SurveyOutput(data, _meta("figure", caption, label))


def table(df_or_html, caption: str, label: str | None = None) -> SurveyOutput:
    """A numbered table from a pandas DataFrame (cells are text; they may cite ``[@key]``)
    or from an HTML string. DataFrame cells are HTML-escaped, so text such as abstracts
    cannot inject markup."""
    if isinstance(df_or_html, str):
        data = {"text/html": df_or_html, "text/plain": caption}
    else:
        df = df_or_html
        data = {
            "text/html": df.to_html(index=False, escape=True, border=0, classes="survey-table"),
            "text/markdown": _markdown_table(df),
            "text/plain": df.to_string(index=False),
        }
    return SurveyOutput(data, _meta("table", caption, label))


def _md_cell(value) -> str:
    text = "" if value is None else str(value)
    if text == "nan":
        text = ""
    text = html.escape(text, quote=False).replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(text.split())


def _markdown_table(df) -> str:
    """A pipe table (what pandoc turns into a LaTeX longtable with wrapped columns)."""
    head = [_md_cell(c) for c in df.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_md_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"
