"""Read a project's files from disk, for the CLI and the tests (the core does no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DirectorySource:
    """A ``FileSource`` that reads files under ``root`` and nothing outside it.

    Paths that climb out of ``root`` (``../x``, absolute paths elsewhere) read
    as absent, so a compose file cannot make the tool read arbitrary files.
    """

    root: Path

    def read(self, path: str) -> str | None:
        """Return the text of ``path`` relative to ``root``, or None when absent or outside."""
        base = self.root.resolve()
        candidate = (base / path).resolve()
        if not candidate.is_relative_to(base) or not candidate.is_file():
            return None
        try:
            return candidate.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
