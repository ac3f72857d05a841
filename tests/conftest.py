"""Fixtures every test directory may use; the others live beside their tests."""

from __future__ import annotations

import pytest
from click.testing import CliRunner


@pytest.fixture
def runner() -> CliRunner:
    """A click runner for the ``compose-topology`` command line."""
    return CliRunner()
