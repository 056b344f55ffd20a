"""The ``SitingError`` tree: every error a user can cause, with a message that names the fix.

Each class also inherits a built-in, so callers can catch ``ValueError`` or ``ImportError``
without knowing ``siting``. Messages name the file, the field or row, the bad value and the
remedy, e.g. ``"north.toml: [[services]] #2 (key 'pharmacy'): walk_minutes = -5; must be > 0"``.
"""

from __future__ import annotations


class SitingError(Exception):
    """Base class of every error ``siting`` raises on purpose."""


class ScenarioError(SitingError, ValueError):
    """A scenario file or a scenario value is invalid.

    Parameters
    ----------
    message
        One line naming what is wrong and how to fix it.
    path
        The scenario or data file at fault, if any.
    field
        The scenario key or data column at fault, if any.
    """

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.field = field


class DataValidationError(SitingError, ValueError):
    """One or more problems in input data; ``problems`` lists each as one line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class InfeasibleError(SitingError):
    """No plan satisfies the constraints; the message says which constraint and why."""


class SolverUnavailableError(SitingError, ImportError):
    """The requested solver backend is not installed; the message names the extra to install."""


class OutputError(SitingError, ValueError):
    """The output folder cannot be written as asked; the message says what to change."""


class SolverCapabilityError(SitingError, ValueError):
    """The chosen backend cannot answer this question; the message names one that can."""


class MissingDependencyError(SitingError, ImportError):
    """An optional dependency is needed for this input; the message names the extra to install."""
