"""surveylib: write literature surveys in Jupyter.

The same API serves notebooks and the ``survey`` command:

    import surveylib as sl
    survey = sl.open_survey()
    survey.papers(theme="modality_bias")
"""
__version__ = "0.1.0"

from .authoring import cite, figure, md, paper_table, table, use_style  # noqa: E402
from .config import Config, load_config  # noqa: E402
from .corpus import IngestReport, Paper, normalize_title  # noqa: E402
from .errors import SurveyError  # noqa: E402
from .sources import ingest, read_source  # noqa: E402
from .survey import Survey, open_survey  # noqa: E402

__all__ = ["Config", "IngestReport", "Paper", "Survey", "SurveyError", "cite", "figure", "ingest", "load_config",
           "md", "normalize_title", "open_survey", "paper_table", "read_source", "table", "use_style"]
