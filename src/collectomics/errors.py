"""One exception root for the whole library; subclasses carry the context a user needs.

Errors become exit codes (CLI) or HTTP statuses (web) only at those edges.
"""

from __future__ import annotations


class CollectomicsError(Exception):
    """Root of every error the library raises on purpose."""

    #: The exit code the CLI uses for this kind of error.
    exit_code = 2

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.context = {k: v for k, v in context.items() if v is not None}

    def __str__(self) -> str:
        if not self.context:
            return self.message
        where = ", ".join(f"{k} {v}" for k, v in self.context.items())
        return f"{self.message} ({where})"


class ConfigError(CollectomicsError):
    """A setting has a bad value, or a configuration file cannot be read."""


class InputError(CollectomicsError):
    """Input data is malformed; carries file, row, column (1-based) where known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        **context: object,
    ) -> None:
        super().__init__(message, file=file, row=row, column=column, **context)
        self.file, self.row, self.column = file, row, column


class StoreError(CollectomicsError):
    """The store cannot be opened, read or written."""


class QueryError(CollectomicsError):
    """A SPARQL query or update is malformed or cannot run; carries the parser's position."""


class QueryNotFound(CollectomicsError):
    """A canned query name does not exist."""


class ParameterError(CollectomicsError):
    """A query parameter is missing, unknown, or not of its declared type."""
