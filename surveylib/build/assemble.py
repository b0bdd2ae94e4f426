"""Merge the executed section notebooks into one notebook, and the resources the exporters read."""
from __future__ import annotations

import copy
import re

import nbformat

from ..config import Config

_HEADING1_RE = re.compile(r"^#[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def section_title(nb) -> str | None:
    """The notebook's first ``# Heading`` (its section title), or None."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = _HEADING1_RE.search(cell.source)
            if m:
                return m.group(1)
    return None


def assemble(executed, config: Config) -> nbformat.NotebookNode:
    """One notebook holding every cell of ``executed`` (``[Executed]``) in order.

    Each cell gets ``metadata.surveylib_source = {"notebook": rel path, "cell": 1-based number}``
    so later errors can name where they come from.
    """
    merged = nbformat.v4.new_notebook()
    first = executed[0].nb.metadata if executed else {}
    for key in ("kernelspec", "language_info"):
        if key in first:
            merged.metadata[key] = copy.deepcopy(first[key])
    merged.metadata["title"] = config.title
    for ex in executed:
        for i, cell in enumerate(ex.nb.cells):
            cell = copy.deepcopy(cell)
            cell.metadata["surveylib_source"] = {"notebook": ex.rel, "cell": i + 1}
            cell.pop("id", None)
            merged.cells.append(cell)
    for n, cell in enumerate(merged.cells):  # ids unique across the merged notebook
        cell["id"] = f"c{n}"
    return merged


def survey_resources(config: Config, bib: dict, nb) -> dict:
    """The ``resources`` the survey exporters expect, for ``nb`` (the merged notebook)."""
    math = any(cell.cell_type == "markdown" and "$" in cell.source for cell in nb.cells)
    return {
        "metadata": {"name": "survey", "path": str(config.root)},
        "survey": {"title": config.title, "authors": list(config.authors), "date": config.date,
                   "bib": bib, "math": math},
    }
