"""The survey exporters on hand-made notebooks (no kernel): tags, numbering, citations, errors."""
from __future__ import annotations

import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from surveylib.build.exporters import SurveyHTMLExporter, SurveyLatexExporter
from surveylib.errors import SurveyError

BIB = {
    "alpha": {"ENTRYTYPE": "article", "author": "Ada Alpha and Bob Builder", "title": "Alpha", "year": "2024",
              "url": "javascript:alert(1)"},
    "noauthor": {"ENTRYTYPE": "misc", "title": "A Dataset Card", "year": "2023"},
}


def notebook(*cells):
    nb = new_notebook(cells=list(cells))
    for i, cell in enumerate(nb.cells):
        cell.metadata["surveylib_source"] = {"notebook": "notebooks/x.ipynb", "cell": i + 1}
    return nb


def resources():
    return {"survey": {"title": "T", "authors": ["A"], "date": "", "bib": BIB, "math": False}}


def md_output(text):
    return new_output("display_data", data={"text/markdown": text, "text/plain": text})


def test_unknown_key_in_an_output_names_notebook_cell_and_key():
    nb = notebook(new_markdown_cell("# S\n\nok [@alpha]"),
                  new_code_cell("x", outputs=[md_output("bad [@ghost]")]))
    with pytest.raises(SurveyError) as err:
        SurveyHTMLExporter().from_notebook_node(nb, resources=resources())
    assert err.value.where == "notebooks/x.ipynb cell 2 | ghost"


def test_tags_hide_remove_and_drop_author_only():
    nb = notebook(
        new_markdown_cell("# S"),
        new_code_cell("secret_input = 1", outputs=[md_output("visible output")]),
        new_code_cell("shown_input = 2", metadata={"tags": ["show-input"]}),
        new_code_cell("y", metadata={"tags": ["author-only"]}, outputs=[md_output("uncited [@ghost]")]),
        new_code_cell("z", metadata={"tags": ["remove-output", "show-input"]}, outputs=[md_output("gone output")]),
    )
    body, _ = SurveyHTMLExporter().from_notebook_node(nb, resources=resources())
    assert "visible output" in body and "secret_input" not in body and "shown_input" in body
    assert "uncited" not in body and "gone output" not in body


def test_unsafe_url_is_not_linked_and_incomplete_entry_is_listed():
    # "alpha" is an @article without journal: pybtex would refuse it; it is listed as @misc
    nb = notebook(new_markdown_cell("# S\n\n[@alpha]"))
    body, res = SurveyHTMLExporter().from_notebook_node(nb, resources=resources())
    assert "javascript:" not in body and res["survey"]["cited"] == {"alpha": ["cite-1"]}


def test_duplicate_label_is_an_error():
    fig = new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "f"},
                     metadata={"surveylib": {"kind": "figure", "caption": "c", "label": "fig:a"}})
    nb = notebook(new_code_cell("a", outputs=[fig]), new_code_cell("b", outputs=[nbformat.from_dict(dict(fig))]))
    with pytest.raises(SurveyError, match="used twice"):
        SurveyHTMLExporter().from_notebook_node(nb, resources=resources())


def test_latex_citations_narrative_and_html_outputs():
    if not shutil.which("pandoc"):
        pytest.skip("pandoc not installed")
    html = new_output("display_data", data={"text/html": "<p>From HTML [@alpha].</p>", "text/plain": "p"})
    nb = notebook(new_markdown_cell("# S\n\n@alpha says; @noauthor too [see @alpha, p. 2]."),
                  new_code_cell("h", outputs=[html]))
    body, _ = SurveyLatexExporter().from_notebook_node(nb, resources=resources())
    assert "\\citet{alpha}" in body and "\\citep{noauthor}" in body  # no author: no "(author?)"
    assert "\\citep[see][p. 2]{alpha}" in body and "From HTML \\citep{alpha}" in body
    assert "\\section{S}" in body and "[@" not in body
