from __future__ import annotations

from pathlib import Path

import pytest

from service.files import DirectorySource


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("compose.yaml", "services: {}\n", id="plain-name"),
        pytest.param("./compose.yaml", "services: {}\n", id="dot-slash"),
        pytest.param("../shared/extra.env", "A=1\n", id="parent-directory"),
        pytest.param("missing.env", None, id="absent"),
        pytest.param(".", None, id="directory-not-file"),
    ],
)
def test_directory_source_read_relative_path_returns_text_or_none(
    tmp_path: Path, path: str, expected: str | None
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "compose.yaml").write_text("services: {}\n")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "extra.env").write_text("A=1\n")

    assert DirectorySource(project).read(path) == expected


def test_directory_source_read_undecodable_file_returns_none(tmp_path: Path) -> None:
    (tmp_path / "binary.env").write_bytes(b"\xff\xfe\x00")

    assert DirectorySource(tmp_path).read("binary.env") is None
