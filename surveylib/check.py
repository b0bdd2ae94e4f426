"""``survey check``: which keys each notebook cites, which do not exist, which theme papers it misses.

A notebook declares its theme in its metadata (``{"surveylib": {"theme": "modality_bias"}}``;
in JupyterLab: Property Inspector -> Notebook metadata). Citations count where the author
wrote them: Pandoc citations in markdown cells, and bracketed citations or ``cite("key")``
calls in code cells (computed tables that cite every row do not count as discussing a paper).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from .citations import find_citations
from .errors import SurveyError
from .io import read_notebook  # plain JSON: notebooks call this, and nbformat costs a kernel 0.2 s


@dataclass(frozen=True)
class CitedKey:
    key: str
    cell: int  # 1-based, as JupyterLab counts cells


@dataclass
class NotebookCheck:
    """What one notebook cites, and what is wrong with it."""

    notebook: str
    theme: str | None
    cited: list[str] = field(default_factory=list)
    unknown: list[CitedKey] = field(default_factory=list)
    uncited_theme_papers: list[str] = field(default_factory=list)
    theme_papers: int = 0

    @property
    def coverage(self) -> float | None:
        """Share of the theme's papers the notebook cites (None without a theme)."""
        if not self.theme or not self.theme_papers:
            return None
        return 1 - len(self.uncited_theme_papers) / self.theme_papers

    def to_dict(self) -> dict:
        return {
            "theme": self.theme,
            "cited": self.cited,
            "unknown": sorted({u.key for u in self.unknown}),
            "unknown_locations": [{"key": u.key, "cell": u.cell} for u in self.unknown],
            "uncited_theme_papers": self.uncited_theme_papers,
            "theme_papers": self.theme_papers,
            "coverage": None if self.coverage is None else round(self.coverage, 4),
        }


def _cite_call_keys(source: str) -> list[str]:
    """String arguments of ``cite(...)`` / ``sl.cite(...)`` calls in a code cell."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    keys = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "cite":
                for arg in node.args:
                    for const in ast.walk(arg):
                        if isinstance(const, ast.Constant) and isinstance(const.value, str):
                            keys.append(const.value)
    return keys


def notebook_citations(path: str | Path) -> list[CitedKey]:
    """Every citation the author wrote in a notebook, in order, with its 1-based cell number."""
    nb = read_notebook(path)
    found: list[CitedKey] = []
    for number, cell in enumerate(nb["cells"], start=1):
        source = cell.get("source", "")
        if cell.get("cell_type") == "markdown":
            found += [CitedKey(k, number) for c in find_citations(source) for k in c.keys]
        elif cell.get("cell_type") == "code":
            found += [CitedKey(k, number) for c in find_citations(source) if not c.narrative for k in c.keys]
            found += [CitedKey(k, number) for k in _cite_call_keys(source)]
    return found


def notebook_theme(path: str | Path) -> str | None:
    return (read_notebook(path)["metadata"].get("surveylib") or {}).get("theme")


def check_notebooks(survey, notebooks=None) -> dict[str, NotebookCheck]:
    """Check ``notebooks`` (default: those in survey.toml) against the survey's keys and taxonomy.

    ``survey`` is a :class:`surveylib.Survey`. Returns notebook file name -> :class:`NotebookCheck`.
    """
    paths = [Path(p) for p in (notebooks or survey.config.notebooks)]
    known = survey.keys
    results: dict[str, NotebookCheck] = {}
    for path in paths:
        if not path.is_file():
            raise SurveyError("notebook listed in survey.toml does not exist", where=str(path),
                              hint="create it or remove it from [build] notebooks")
        cites = notebook_citations(path)
        theme = notebook_theme(path)
        check = NotebookCheck(notebook=path.name, theme=theme)
        check.cited = list(dict.fromkeys(c.key for c in cites if c.key in known))
        check.unknown = [c for c in cites if c.key not in known]
        if theme:
            members = list(survey.papers(theme=theme).index)
            cited = set(check.cited)
            check.theme_papers = len(members)
            check.uncited_theme_papers = [k for k in members if k not in cited]
        results[path.name] = check
    return results


def format_report(results: dict[str, NotebookCheck], notebooks_dir: str = "notebooks") -> str:
    """The human-readable report: per notebook, counts, unknown keys with cells, missed papers."""
    lines = []
    for name, check in results.items():
        head = f"{name}: {len(check.cited)} keys cited"
        if check.theme:
            head += (f"; theme {check.theme}: {check.theme_papers - len(check.uncited_theme_papers)}"
                     f"/{check.theme_papers} papers cited ({check.coverage:.0%})" if check.theme_papers
                     else f"; theme {check.theme}: no papers")
        lines.append(head)
        for u in check.unknown:
            lines.append(f"  error: {notebooks_dir}/{name}: cell {u.cell}: unknown key {u.key!r} "
                         f"(not in the bibliography)")
        if check.uncited_theme_papers:
            lines.append(f"  not cited yet: {', '.join(check.uncited_theme_papers)}")
    return "\n".join(lines)
