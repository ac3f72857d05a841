"""The exceptions every layer raises, grouped by what a caller can do about them.

::

    ComposeTopologyError            root: nothing else ever escapes the package
    ├── InputError                  the caller's input is wrong: fix it and retry
    │   ├── YamlSyntaxError         not readable as YAML (HTTP 400)
    │   ├── ComposeValidationError  YAML, but Compose would reject it (HTTP 422)
    │   │   └── InterpolationError  a ${VAR:?message} or a malformed ${...}
    │   ├── LimitExceededError      bigger or deeper than a configured limit (HTTP 413)
    │   ├── UnknownServiceError     a requested service is not in the project (HTTP 422)
    │   └── UnsupportedMediaError   a body we cannot read at all (HTTP 415)
    └── RenderError                 drawing failed: not the caller's fault
        ├── GraphvizMissingError    ``dot`` is not installed (HTTP 503)
        ├── RenderTimeoutError      the layout ran past its time limit (HTTP 422)
        ├── RenderFailedError       Graphviz crashed or was killed (HTTP 500)
        └── BusyError               too many renders at once: retry later (HTTP 503)

Every error carries the file, line, column, service and key it concerns when
they are known, so a message can point at the exact place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLocation:
    """A place in an input file; line and column count from 1."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class ComposeTopologyError(Exception):
    """Root of every error raised on purpose by this package."""

    def __init__(
        self,
        message: str,
        *,
        location: SourceLocation | None = None,
        service: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.service = service
        self.key = key

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.message}"


class InputError(ComposeTopologyError):
    """The input is wrong; the caller can fix it."""


class YamlSyntaxError(InputError):
    """The text is not valid YAML."""


class ComposeValidationError(InputError):
    """The YAML is readable but Docker Compose would reject it."""


class InterpolationError(ComposeValidationError):
    """A variable reference is malformed or a required variable is unset."""


class LimitExceededError(InputError):
    """The input is larger, deeper or more numerous than a configured limit allows."""

    def __init__(self, message: str, *, limit: str, **context: object) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]
        self.limit = limit


class UnknownServiceError(InputError):
    """A request names a service (e.g. the diagram's focus) the project lacks."""


class UnsupportedMediaError(InputError):
    """The request body is of a kind we cannot read."""


class RenderError(ComposeTopologyError):
    """Drawing the diagram failed for a reason the input did not cause directly."""


class GraphvizMissingError(RenderError):
    """Graphviz's ``dot`` is not installed or not runnable."""


class RenderTimeoutError(RenderError):
    """The Graphviz layout ran past its time limit and was stopped."""


class RenderFailedError(RenderError):
    """Graphviz exited with an error, crashed, or wrote too much output."""


class BusyError(RenderError):
    """Every render slot is taken; the caller should retry shortly."""

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after
