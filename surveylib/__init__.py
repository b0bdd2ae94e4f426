"""surveylib: write literature surveys in Jupyter."""
__version__ = "0.1.0"
