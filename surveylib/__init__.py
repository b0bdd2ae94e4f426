"""surveylib: write literature surveys in Jupyter.

The same API serves notebooks and the ``survey`` command:

    import surveylib as sl
    survey = sl.open_survey()
    survey.papers(theme="modality_bias")
"""
__version__ = "0.1.0"

# The names below load on first use (PEP 562), so `survey build` with nothing to do, or with
# only prose changed, never imports pandas (a third of a second).
_EXPORTS = {
    "cite": "authoring", "figure": "authoring", "md": "authoring", "paper_table": "authoring",
    "table": "authoring", "use_style": "authoring",
    "Config": "config", "load_config": "config",
    "IngestReport": "corpus", "Paper": "corpus", "normalize_title": "corpus",
    "SurveyError": "errors",
    "ingest": "sources", "read_source": "sources",
    "Survey": "survey", "open_survey": "survey",
}

__all__ = ["Config", "IngestReport", "Paper", "Survey", "SurveyError", "cite", "figure", "ingest", "load_config",
           "md", "normalize_title", "open_survey", "paper_table", "read_source", "table", "use_style"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'surveylib' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
