"""Exceptions with a message in Spanish (for students) and English."""

from __future__ import annotations


class AttnvizError(Exception):
    """Base class of every error attnviz raises on purpose: ``str(error)`` is "Spanish / English"."""

    def __init__(self, message_es: str, message_en: str) -> None:
        self.message_es = message_es
        self.message_en = message_en
        super().__init__(f"{message_es} / {message_en}")

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: a student sees one Spanish sentence, and the
        # cell still fails, so "Run all" stops here instead of cascading into NameErrors.
        return [f"\x1b[31m{self.message_es}\x1b[0m"]


class InvalidTextError(AttnvizError, ValueError):
    """The text is empty, whitespace only, or leaves no token to show."""


class InvalidInputTypeError(AttnvizError, TypeError):
    """An argument has the wrong type (e.g. bytes instead of str)."""


class IndexOutOfRangeError(AttnvizError, IndexError):
    """A layer, head or token index is not valid for this result."""


class ModelNotFoundError(AttnvizError, OSError):
    """The model does not exist: unknown hub id, missing local path."""


class ModelUnavailableError(AttnvizError, OSError):
    """The model exists perhaps, but cannot be reached (no network, not cached)."""


class InvalidModelError(AttnvizError, OSError):
    """The model files are there but cannot be loaded (no config, corrupt weights)."""


class NoAttentionError(AttnvizError, ValueError):
    """The model did not return one attention matrix per layer."""


class OutputPathError(AttnvizError, ValueError):
    """A figure or export cannot be written where or how it was asked."""


class LessonSetupError(AttnvizError, RuntimeError):
    """The lesson's first cell could not get a model (or attnviz itself) ready."""


class OfflineFallbackWarning(UserWarning):
    """The default model was unreachable and the offline model is used instead."""


class TruncationWarning(UserWarning):
    """The text was longer than the model accepts and was cut."""


class MeasureUnavailableError(AttnvizError, ValueError):
    """A measure (contribution, q·k) this model's layout does not let attnviz compute."""
