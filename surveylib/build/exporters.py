"""nbconvert exporters for the assembled survey: HTML and LaTeX subclasses with surveylib's
templates (surveylib/templates/survey_html, survey_latex) and preprocessors.

Use them like any nbconvert exporter: ``body, resources = SurveyHTMLExporter().from_notebook_node(
nb, resources={"survey": {...}})``; ``resources["survey"]`` must hold ``title``, ``authors``,
``date`` and ``bib`` ({key: fields}); see :func:`surveylib.build.assemble.survey_resources`.
"""
from __future__ import annotations

import re
from pathlib import Path

from nbconvert.exporters import HTMLExporter, LatexExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import TagRemovePreprocessor
from traitlets import default
from traitlets.config import Config as TConfig

from .preprocessors import CitationPreprocessor, CleanupPreprocessor, NumberingPreprocessor

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# Cell tags: as nbconvert's TagRemovePreprocessor, plus author-only cells (checks for the
# author, such as "papers not yet cited") which never reach the survey.
REMOVE_CELL_TAGS = {"remove-cell", "author-only"}
REMOVE_INPUT_TAGS = {"remove-input"}
REMOVE_OUTPUT_TAGS = {"remove-output"}


def _tag_config() -> TConfig:
    c = TConfig()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = set(REMOVE_CELL_TAGS)
    c.TagRemovePreprocessor.remove_input_tags = set(REMOVE_INPUT_TAGS)
    c.TagRemovePreprocessor.remove_all_outputs_tags = set(REMOVE_OUTPUT_TAGS)
    return c


class _SurveyMixin:
    survey_format = "html"

    def _init_preprocessors(self):
        super()._init_preprocessors()
        # After nbconvert's own (tag removal, output extraction): clean, number, cite.
        self.register_preprocessor(CleanupPreprocessor(parent=self), enabled=True)
        self.register_preprocessor(NumberingPreprocessor(parent=self, to=self.survey_format), enabled=True)
        self.register_preprocessor(CitationPreprocessor(parent=self, to=self.survey_format), enabled=True)

    def _over_defaults(self, ours: TConfig) -> TConfig:
        """``ours`` plus the cell-tag settings, layered over nbconvert's defaults for this exporter."""
        ours.merge(_tag_config())
        base = super().default_config.copy()
        base.merge(ours)  # ours win over nbconvert's defaults
        return base


_IMG_NO_ALT_RE = re.compile(r"<img\b(?![^>]*\balt=)", re.IGNORECASE)
_FOCUSABLE_RE = re.compile(
    r'<div\b(?=[^>]*\bclass="[^"]*\b(?:jp-Cell-inputWrapper|jp-OutputArea-output)\b)(?![^>]*\btabindex=)')


def accessible(page: str) -> str:
    """What nbconvert's HTMLExporter does to a page with BeautifulSoup, without re-parsing
    it (a second or so for a survey): images without alternative text get nbconvert's default
    one, and code inputs and outputs are made focusable (``tabindex="0"``)."""
    page = _IMG_NO_ALT_RE.sub('<img alt="No description has been provided for this image"', page)
    return _FOCUSABLE_RE.sub('<div tabindex="0"', page)


class SurveyHTMLExporter(_SurveyMixin, HTMLExporter):
    """One self-contained HTML page: figures embedded, prompts off, inputs hidden unless tagged."""

    export_from_notebook = "Survey (HTML)"
    survey_format = "html"

    def from_notebook_node(self, nb, resources=None, **kw):
        """As HTMLExporter's, with its BeautifulSoup pass done by :func:`accessible`."""
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        self.register_filter("highlight_code",
                             self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return accessible(page), resources

    @default("template_name")
    def _template_name_default(self):
        return "survey_html"

    @default("extra_template_basedirs")
    def _default_extra_template_basedirs(self):
        return [str(TEMPLATES)]

    @property
    def default_config(self):
        return self._over_defaults(TConfig({"HTMLExporter": {
            "exclude_input_prompt": True, "exclude_output_prompt": True, "anchor_link_text": ""}}))


class SurveyLatexExporter(_SurveyMixin, LatexExporter):
    """LaTeX article with natbib (numbered) and BibTeX; figures extracted to files."""

    export_from_notebook = "Survey (LaTeX)"
    survey_format = "latex"

    @default("template_name")
    def _template_name_default(self):
        return "survey_latex"

    @default("extra_template_basedirs")
    def _default_extra_template_basedirs(self):
        return [str(TEMPLATES)]

    @property
    def default_config(self):
        return self._over_defaults(TConfig({
            "LatexExporter": {"exclude_input_prompt": True, "exclude_output_prompt": True},
            # as nbconvert's LaTeX priority, plus HTML (pandoc converts it) before plain text
            "NbConvertBase": {"display_data_priority": [
                "text/latex", "application/pdf", "image/png", "image/jpeg", "image/svg+xml",
                "text/markdown", "text/html", "text/plain"]}}))
