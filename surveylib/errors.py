"""One error type for everything the author can fix, carrying where and what to do."""
from __future__ import annotations


class SurveyError(Exception):
    """A problem in the author's input or project, reported without a traceback.

    ``where`` names the place (``file:line``, ``notebook cell N``, a key); ``hint``
    says what to do about it.
    """

    def __init__(self, message: str, where: str | None = None, hint: str | None = None):
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class SourceError(SurveyError):
    """An abstract source that cannot be read at all (missing, binary, a directory...)."""
