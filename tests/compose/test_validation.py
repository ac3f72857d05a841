from __future__ import annotations

import csv
import json
import zlib
from pathlib import Path
from typing import Any

import pytest

from service.compose.interpolation import interpolate
from service.compose.validation import _canonical, _identity, validate_compose
from service.compose.yamlload import load_yaml
from service.compose.yamlscalars import Timestamp
from service.errors import ComposeValidationError, SourceLocation
from service.limits import Limits

CORPUS = Path("/work/shared/corpus")


def validate_text(text: str) -> None:
    document = load_yaml(text, "compose.yaml", Limits())
    validate_compose(document.data, document.locate)


VALID = [
    ("services:\n  web:\n    image: nginx\n", "minimal"),
    ("version: '3.8'\nservices: {}\n", "obsolete-version-kept"),
    ("x-common: {a: 1}\nservices:\n  a:\n    image: x\n    x-note: hi\n", "extensions"),
    ("services:\n  a:\n    build: .\n", "build-string"),
    ("services:\n  a:\n    build: {context: ., args: [A=1], x-b: 1}\n", "build-map"),
    ("services:\n  a:\n    image: x\n    command: null\n", "null-command"),
    (
        "services:\n  a:\n    image: x\n    environment: {A: 1, B: true, C: null}\n",
        "env",
    ),
    ("services:\n  a:\n    image: x\n    environment: [A=1]\n", "env-list"),
    (
        "services:\n  a:\n    image: x\n    ports: [80, '8080:80', {target: 80}]\n",
        "ports",
    ),
    (
        "services:\n  a:\n    image: x\n    networks: {n: null, m: {aliases: [b]}}\n",
        "nets",
    ),
    ("services:\n  a:\n    depends_on: {b: {condition: service_healthy}}\n", "dep"),
    (
        "services:\n  a:\n    image: x\n    env_file: [a.env, {path: b.env}]\n",
        "env-file",
    ),
    ("services:\n  a:\n    image: x\n    environment: !reset null\n", "reset-tag"),
    ("services:\n  a:\n    image: x\n    deploy: {replicas: 2}\n", "replicas"),
    ("networks:\n  n:\nvolumes:\n  v: {}\n", "empty-resources"),
    ("networks:\n  'a b': {}\n", "network-name-with-space"),
    ("services:\n  a:\n    image: x\n    cap_add: [A, A]\n", "repeat-merged-list"),
    ("services:\n  a:\n    image: x\n    ports: [80, 80]\n", "repeat-port"),
    ("include:\n", "null-include"),
    ("services:\n  a:\n    image: x\n    deploy:\n", "null-deploy"),
    ("services:\n  a:\n    image: x\n    ulimits: {NOFILE: 5}\n", "ulimit-caps"),
]


@pytest.mark.parametrize(
    "text", [row[0] for row in VALID], ids=[row[1] for row in VALID]
)
def test_validate_compose_accepted_shapes_pass(text: str) -> None:
    validate_text(text)


# Each row: text, (line, column), service, words in the message, id.
INVALID = [
    ("service:\n  a: {}\n", (1, 1), None, '"services"', "unknown-top-level-suggests"),
    ("services: [a]\n", (1, 1), None, "mapping", "services-list"),
    ("services:\n  a:\n", (2, 3), "a", "mapping", "service-null"),
    ("services:\n  a b:\n    image: x\n", (2, 3), "a b", '"a b"', "service-name-space"),
    (
        "services:\n  a:\n    image: x\n    wrongField: 1\n",
        (4, 5),
        "a",
        '"wrongField"',
        "unknown-service-key",
    ),
    ("services:\n  a:\n    imag: x\n", (3, 5), "a", '"image"', "typo-suggests"),
    (
        "services:\n  a:\n    image: [x]\n",
        (3, 5),
        "a",
        "must be a string",
        "image-list",
    ),
    (
        "services:\n  a:\n    command: [1]\n",
        None,
        "a",
        "must be a string",
        "command-num",
    ),
    (
        "services:\n  a:\n    command: {a: b}\n",
        (3, 5),
        "a",
        "list of strings",
        "cmd-map",
    ),
    (
        "services:\n  a:\n    environment: {A: [1]}\n",
        None,
        "a",
        "a string, a number, true or false or empty",
        "env",
    ),
    (
        "services:\n  a:\n    environment: {A: 2001-12-14}\n",
        None,
        "a",
        "the date",
        "env-date",
    ),
    ("services:\n  a:\n    ports: 80\n", (3, 5), "a", "must be a list", "ports-scalar"),
    (
        "services:\n  a:\n    ports: [[80]]\n",
        None,
        "a",
        "must be a number, a string or a mapping",
        "ports-nested",
    ),
    ("services:\n  a:\n    networks: n\n", (3, 5), "a", "networks", "networks-string"),
    (
        "services:\n  a:\n    depends_on: {b: {condition: started}}\n",
        None,
        "a",
        '"started"',
        "bad-condition",
    ),
    ("services:\n  a:\n    build: {contxt: .}\n", None, "a", '"context"', "build-key"),
    ("services:\n  a:\n    scale: 1.5\n", (3, 5), "a", "whole number", "scale-float"),
    ("services:\n  a:\n    deploy: {replicas: 1.5}\n", None, "a", "whole", "replicas"),
    (
        "services:\n  a:\n    volumes: [{source: x}]\n",
        None,
        "a",
        "type",
        "volume-no-type",
    ),
    (
        "services:\n  a:\n    extends: {file: b.yml}\n",
        None,
        "a",
        'needs the key "service"',
        "extends",
    ),
    ("services:\n  a:\n    read_only: 1\n", (3, 5), "a", "true or false", "read-only"),
    ("networks:\n  n: [a]\n", (2, 3), None, "mapping", "network-list"),
    ("services:\n", (1, 1), None, "mapping", "null-services"),
    ("name: [x]\n", (1, 1), None, "string", "name-list"),
]


@pytest.mark.parametrize(
    ("text", "place", "service", "words"),
    [row[:4] for row in INVALID],
    ids=[row[4] for row in INVALID],
)
def test_validate_compose_rejected_shapes_name_place(
    text: str, place: tuple[int, int] | None, service: str | None, words: str
) -> None:
    with pytest.raises(ComposeValidationError) as caught:
        validate_text(text)

    error = caught.value
    assert words in error.message
    assert error.service == service
    assert error.location is not None
    assert error.location.file == "compose.yaml"
    if place is not None:
        assert (error.location.line, error.location.column) == place


def test_validate_compose_non_mapping_root_rejected() -> None:
    with pytest.raises(ComposeValidationError):
        validate_compose(["a"], lambda path: SourceLocation("c.yml"))


def corpus_rows() -> list[dict[str, str]]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _number_for(name: str) -> str:
    return str(10_000 + zlib.crc32(name.encode()) % 50_000)


def structural_reject(row: dict[str, str]) -> bool:
    # Compose's schema errors start with "validating"; the rest of its
    # rejections are project-level checks made after merging.
    return row["reference_error"].startswith("validating")


@pytest.mark.parametrize(
    "row", corpus_rows(), ids=[row["path"] for row in corpus_rows()]
)
def test_validate_compose_corpus_agrees_with_reference(row: dict[str, str]) -> None:
    text = (CORPUS / row["path"]).read_text(encoding="utf-8")
    document = load_yaml(text, row["path"], Limits())

    def validate_all() -> None:
        for part in document.documents:
            # Every variable set to a number of its own, so required ones
            # and casts pass and no two list items become equal.
            result = interpolate(part.data, _number_for, part.locate)
            validate_compose(result.data, part.locate)

    if structural_reject(row):
        with pytest.raises(ComposeValidationError):
            validate_all()
    else:
        validate_all()


def test_validate_compose_reference_rejects_wrong_field() -> None:
    wanted = "wrong-composefile/compose.yaml"
    rows: list[Any] = [r for r in corpus_rows() if r["path"].endswith(wanted)]
    if not rows:
        pytest.skip("The corpus is not available.")
    assert structural_reject(rows[0])


_ITEMS: list[Any] = [
    "a",
    "true",
    True,
    "1",
    1,
    1.0,
    "01",
    "null",
    None,
    Timestamp("2024-01-01"),
    "2024-01-01",
    ["a"],
    {"a": 1},
    '"a"',
]


@pytest.mark.parametrize("first", _ITEMS, ids=repr)
@pytest.mark.parametrize("second", _ITEMS, ids=repr)
def test_identity_equal_exactly_when_canonical_json_equal(
    first: Any, second: Any
) -> None:
    def as_json(item: Any) -> str:
        return json.dumps(_canonical(item), sort_keys=True, default=str)

    same_json = as_json(first) == as_json(second)
    assert (_identity(first) == _identity(second)) is same_json
