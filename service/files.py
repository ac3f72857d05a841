"""Read a project's files from disk for the CLI and the tests; the core does no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DirectorySource:
    """A ``FileSource`` that reads paths relative to a project directory on disk.

    It follows the paths a compose file names wherever they lead, ``../``
    included, as ``docker compose`` does: the CLI runs on the user's own
    files. The web service never uses it; it reads uploaded files only.
    """

    root: Path

    def read(self, path: str) -> str | None:
        """Return the text of ``path`` relative to ``root``, or None if unreadable."""
        candidate = self.root / path
        if not candidate.is_file():
            return None
        try:
            return candidate.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
