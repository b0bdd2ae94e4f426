"""survey check and the notebook API, on the real project and on notebooks made here."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import surveylib as sl
from surveylib.check import check_notebooks, notebook_citations

ROOT = Path(__file__).resolve().parents[1]
THEMES = {"02_token_compression.ipynb": "token_compression", "03_modality_bias.ipynb": "modality_bias",
          "04_unified_generation.ipynb": "unified_generation"}


@pytest.fixture(scope="module")
def survey():
    return sl.open_survey(ROOT)


def _notebook(path: Path, cells, theme=None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["surveylib"] = {"theme": theme}
    nb.cells = cells
    nbformat.write(nb, path)
    return path


def test_citations_are_found_in_prose_and_cite_calls_not_in_code_decorators(tmp_path):
    nb = _notebook(tmp_path / "a.ipynb", [
        nbformat.v4.new_markdown_cell("# T\n\n@lmeye does this [@mmie; @comm]. Mail me at a@b.org."),
        nbformat.v4.new_code_cell("@property\ndef f(self): pass\nsl.cite('liquid', ['next-gpt'])"),
        nbformat.v4.new_code_cell("sl.md('see [@mio]')"),
    ])
    found = [(c.key, c.cell) for c in notebook_citations(nb)]
    assert found == [("lmeye", 1), ("mmie", 1), ("comm", 1), ("liquid", 2), ("next-gpt", 2), ("mio", 3)]


def test_unknown_key_names_notebook_cell_and_key(tmp_path, survey):
    nb = _notebook(tmp_path / "b.ipynb", [
        nbformat.v4.new_markdown_cell("# T\n\nKnown [@lmeye]."),
        nbformat.v4.new_markdown_cell("Unknown [@no-such-paper-2099]."),
    ], theme="unified_generation")
    result = check_notebooks(survey, [nb])["b.ipynb"]
    assert result.cited == ["lmeye"]
    assert [(u.key, u.cell) for u in result.unknown] == [("no-such-paper-2099", 2)]
    theme_keys = list(survey.papers(theme="unified_generation").index)
    assert result.uncited_theme_papers == [k for k in theme_keys if k != "lmeye"]
    assert result.theme_papers == len(theme_keys)

    cli = subprocess.run([sys.executable, "-m", "surveylib.cli", "check", "--config", str(ROOT), str(nb)],
                         capture_output=True, text=True)
    assert cli.returncode == 1
    assert "b.ipynb: cell 2: unknown key 'no-such-paper-2099'" in cli.stdout
    assert "Traceback" not in cli.stderr


def test_check_json_on_the_real_survey_has_no_unknown_keys_and_covers_each_theme(survey):
    cli = subprocess.run([sys.executable, "-m", "surveylib.cli", "check", "--json", "--config", str(ROOT)],
                         capture_output=True, text=True, cwd=ROOT)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    report = json.loads(cli.stdout)["notebooks"]
    assert set(report) == {Path(p).name for p in survey.config.notebooks}
    for name, entry in report.items():
        assert {"cited", "unknown", "uncited_theme_papers"} <= set(entry)
        assert entry["unknown"] == [], name
    for name, theme in THEMES.items():
        entry = report[name]
        assert entry["theme"] == theme
        members = set(survey.papers(theme=theme).index)
        assert members, theme
        covered = len(members & set(entry["cited"])) / len(members)
        assert covered >= 0.9, (name, entry["uncited_theme_papers"])
        assert set(entry["uncited_theme_papers"]) == members - set(entry["cited"])


def test_notebooks_are_committed_clean():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for number, cell in enumerate(nb.cells, start=1):
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name} cell {number}"


def test_theme_sections_meet_their_length(survey):
    import re

    minimum = {"01_introduction.ipynb": 400, "05_conclusion.ipynb": 300, **{n: 1000 for n in THEMES}}
    for name, words in minimum.items():
        nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        prose = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
        prose = re.sub(r"\[@[^\]]*\]|\|[^\n]*\|", " ", prose)  # citations and table rows are not prose
        assert len(prose.split()) >= words, name


def test_cite_and_paper_frame():
    assert str(sl.cite("a", ["b", "c"])) == "[@a; @b; @c]"
    assert sl.cite(["x"])._repr_markdown_() == "[@x]"
    import pandas as pd

    from surveylib.authoring import paper_frame

    frame = pd.DataFrame({"method": ["A", None], "modalities": [["image", "video"], []]}, index=["k1", "k2"])
    out = paper_frame(frame, {"method": "Method", "modalities": "Modalities"})
    assert out.to_dict("list") == {"Method": ["A", ""], "Modalities": ["image, video", ""],
                                   "Reference": ["[@k1]", "[@k2]"]}


def test_survey_lookups(survey):
    assert survey.paper("lmeye")["title"].startswith("LMEye")
    with pytest.raises(sl.SurveyError, match="did you mean"):
        survey.paper("lmeyee")
    assert "lmeye" in survey.find("interactive perception").index
    with pytest.raises(sl.SurveyError, match="unknown theme"):
        survey.papers(theme="no_such_theme")
    table = survey.crosstab("token_compression", "subtheme", "modalities")
    assert table.to_numpy().sum() >= len(survey.papers(theme="token_compression"))
    html = survey.view(survey.find("LMEye"))._repr_html_()
    assert "lmeye" in html and "<script" not in html
