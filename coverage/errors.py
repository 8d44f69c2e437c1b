"""The covgap exception family.

Every error a user can cause is a :class:`CovgapError`. Each carries the file,
row and column it is about when those are known, and renders as the one line
the CLI prints (DESIGN §3)::

    error: <file>:<row>:<column>: <reason>
    error: <file>: <reason>

Rows are 1-based over data records in file order (the header is not a row).
Each class is also the matching built-in (h3-py style), so callers that catch
``ValueError`` keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class CovgapError(Exception):
    """Base of every covgap error. ``exit_code`` is what the CLI returns."""

    exit_code: int = 2

    def __init__(
        self,
        reason: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column

    def location(self) -> str:
        """``file:row:column`` (the parts that are known), or ``""``."""
        parts: list[str] = []
        if self.file is not None:
            parts.append(self.file)
            if self.row is not None:
                parts.append(str(self.row))
            if self.column is not None:
                parts.append(self.column)
        elif self.column is not None:
            parts.append(self.column)
        return ":".join(parts)

    def line(self) -> str:
        """The one-line message the CLI prints."""
        loc = self.location()
        return f"error: {loc}: {self.reason}" if loc else f"error: {self.reason}"

    def __str__(self) -> str:
        loc = self.location()
        return f"{loc}: {self.reason}" if loc else self.reason


class InputFileError(CovgapError, OSError):
    """A file is missing, empty, unreadable, of an unsupported format or unsafe."""


class SchemaError(CovgapError, ValueError):
    """A column or value breaks the data contract (DESIGN §3)."""


class CRSError(CovgapError, ValueError):
    """A coordinate reference system is missing, wrong or contradicted by the data."""


class ScenarioError(CovgapError, ValueError):
    """The scenario file (TOML) is invalid: unknown key, wrong type, bad value."""


class UsageError(CovgapError, ValueError):
    """The command line is inconsistent (a missing input, clashing options)."""


class PropagationRangeError(CovgapError, ValueError):
    """A propagation model was asked for a value outside its validity range."""


class SolverError(CovgapError, RuntimeError):
    """A solver found no solution within its limits (exit code 1)."""

    exit_code = 1


class RequirementError(CovgapError):
    """The run finished but breaks a requirement the user asked to enforce
    (``--strict`` with rejects, ``--fail-on-late`` with late sites): exit 1."""

    exit_code = 1


@dataclass(frozen=True)
class Reject:
    """One rejected row, as written to ``rejects.csv`` (``file,row,column,value,reason``)."""

    file: str
    row: int | None
    column: str
    value: str
    reason: str

    def line(self) -> str:
        """``<file>:<row>:<column>: <reason>`` for messages."""
        row = "" if self.row is None else f":{self.row}"
        return f"{self.file}{row}:{self.column}: {self.reason}"
