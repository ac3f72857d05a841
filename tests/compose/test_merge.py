"""Merge rules for several -f files, !reset/!override, extends, include, profiles."""

from __future__ import annotations

from typing import Any

import pytest

from service.compose import merge
from service.compose.normalize import normalise_file
from service.compose.ports import PortBudget
from service.compose.yamlload import Tagged
from service.errors import ComposeValidationError


def _canonical(data: dict[str, Any]) -> dict[str, Any]:
    return normalise_file(data, "", lambda path: None, PortBudget(1_000))


def _merged(*files: dict[str, Any]) -> dict[str, Any]:
    model: dict[str, Any] = {}
    for data in files:
        tags = merge.resolve_tags(data)
        merge.apply_resets(model, tags.paths)
        model = merge.merge_documents(model, _canonical(tags.data))
        merge.remove_duplicates(model)
    return model


def _web(**settings: Any) -> dict[str, Any]:
    return {"services": {"web": {"image": "nginx", **settings}}}


def test_merge_ports_appended_and_identical_ones_dropped() -> None:
    model = _merged(
        _web(ports=["8000:8000", "9000"]),
        _web(ports=["127.0.0.1:8000:8000", "9000"]),
    )

    ports = model["services"]["web"]["ports"]
    assert [(p.get("host_ip"), p.get("published"), p["target"]) for p in ports] == [
        (None, "8000", 8000),
        (None, None, 9000),
        ("127.0.0.1", "8000", 8000),
    ]


def test_merge_volumes_same_target_later_file_wins_in_place() -> None:
    model = _merged(
        _web(volumes=["./a:/data", "v1:/v1"]),
        _web(volumes=["./b:/data"]),
    )

    volumes = model["services"]["web"]["volumes"]
    assert [(v["source"], v["target"]) for v in volumes] == [
        ("b", "/data"),
        ("v1", "/v1"),
    ]


def test_merge_environment_list_and_mapping_later_value_wins() -> None:
    model = _merged(
        _web(environment={"A": "1", "B": "2"}), _web(environment=["B=3", "C"])
    )

    assert model["services"]["web"]["environment"] == {"A": "1", "B": "3", "C": None}


@pytest.mark.parametrize("key", ["command", "entrypoint"])
def test_merge_command_like_key_replaced_whole(key: str) -> None:
    model = _merged(_web(**{key: ["a", "b"]}), _web(**{key: "c d"}))

    assert model["services"]["web"][key] == "c d"


def test_merge_depends_on_list_and_mapping_combined() -> None:
    model = _merged(
        _web(depends_on=["db", "cache"]),
        _web(depends_on={"db": {"condition": "service_healthy"}}),
    )

    assert model["services"]["web"]["depends_on"] == {
        "db": {"condition": "service_healthy", "required": True},
        "cache": {"condition": "service_started", "required": True},
    }


def test_merge_reset_tag_removes_earlier_value() -> None:
    model = _merged(
        _web(command="serve", ports=["80:80"]),
        _web(command=Tagged("!reset", None), ports=Tagged("!reset", [])),
    )

    assert "command" not in model["services"]["web"]
    assert "ports" not in model["services"]["web"]


def test_merge_override_tag_replaces_instead_of_appending() -> None:
    model = _merged(_web(ports=["80:80"]), _web(ports=Tagged("!override", ["90:90"])))

    assert [p["target"] for p in model["services"]["web"]["ports"]] == [90]


def test_merge_mapping_over_scalar_is_rejected() -> None:
    with pytest.raises(ComposeValidationError):
        _merged(_web(deploy={"replicas": 1}), _web(deploy="one"))


def _load_nothing(path: str, origin: str) -> dict[str, Any]:
    raise AssertionError(f"unexpected read of {path}")


def test_apply_extends_same_file_merges_base_under_service() -> None:
    services = _canonical(
        {
            "services": {
                "base": {"image": "busybox", "working_dir": "/b", "ports": ["1:1"]},
                "web": {"extends": "base", "ports": ["2:2"], "user": "app"},
            }
        }
    )["services"]

    merge.apply_extends(services, "compose.yaml", _load_nothing, lambda p: None)

    web = services["web"]
    assert web["image"] == "busybox"
    assert web["working_dir"] == "/b"
    assert web["user"] == "app"
    assert [p["target"] for p in web["ports"]] == [1, 2]
    assert "extends" not in web


def test_apply_extends_reset_clears_inherited_value() -> None:
    tags = merge.resolve_tags(
        {
            "services": {
                "init": {"image": "alpine", "command": "sleep infinity"},
                "base": {
                    "extends": {"service": "init"},
                    "command": Tagged("!reset", None),
                },
            }
        }
    )
    services = _canonical(tags.data)["services"]

    merge.apply_extends(services, "f.yaml", _load_nothing, lambda p: None, tags.paths)

    assert "command" not in services["base"]
    assert services["init"]["command"] == "sleep infinity"


def test_apply_extends_other_file_uses_loader() -> None:
    other = _canonical({"services": {"common": {"image": "shared", "user": "u"}}})
    services = _canonical(
        {"services": {"web": {"extends": {"file": "common.yaml", "service": "common"}}}}
    )["services"]

    merge.apply_extends(
        services, "compose.yaml", lambda path, origin: other["services"], lambda p: None
    )

    assert services["web"]["image"] == "shared"
    assert services["web"]["user"] == "u"


@pytest.mark.parametrize(
    "services",
    [
        pytest.param({"a": {"extends": "missing"}}, id="missing-service"),
        pytest.param({"a": {"extends": "b"}, "b": {"extends": "a"}}, id="cycle"),
    ],
)
def test_apply_extends_invalid_reference_raises(services: dict[str, Any]) -> None:
    canonical = _canonical({"services": services})["services"]

    with pytest.raises(ComposeValidationError) as caught:
        merge.apply_extends(canonical, "f.yaml", _load_nothing, lambda p: None)

    assert caught.value.key == "extends"


def test_apply_include_adds_resources_and_rejects_conflicts() -> None:
    model: dict[str, Any] = {"include": ["a.yaml"], "services": {"web": {"image": "x"}}}
    imported = {"services": {"db": {"image": "pg"}}, "volumes": {"data": {}}}

    merge.apply_include(model, lambda entry, index: imported)

    assert set(model["services"]) == {"web", "db"}
    assert model["volumes"] == {"data": {}}
    conflicting = {"include": ["a.yaml"], "services": {"db": {"image": "mysql"}}}
    with pytest.raises(ComposeValidationError):
        merge.apply_include(conflicting, lambda entry, index: imported)


@pytest.mark.parametrize(
    ("own", "active", "enabled"),
    [
        pytest.param([], [], True, id="no-profile-always"),
        pytest.param(["debug"], [], False, id="profile-not-active"),
        pytest.param(["debug"], ["debug"], True, id="profile-active"),
        pytest.param(["a", "b"], ["b"], True, id="one-of-several"),
        pytest.param(["debug"], ["*"], True, id="star-enables-all"),
    ],
)
def test_is_enabled_profiles_decide(
    own: list[str], active: list[str], enabled: bool
) -> None:
    assert merge.is_enabled({"profiles": own}, active) is enabled


@pytest.mark.parametrize(
    "later",
    [
        pytest.param({"environment": {"A": None}}, id="mapping-null"),
        pytest.param({"environment": ["A"]}, id="list-bare-name"),
    ],
)
def test_merge_null_variable_replaces_earlier_value(later: dict[str, Any]) -> None:
    model = _merged(_web(environment={"A": "a", "B": "b"}), _web(**later))

    assert model["services"]["web"]["environment"] == {"A": None, "B": "b"}


def test_merge_null_elsewhere_keeps_earlier_value() -> None:
    model = _merged(_web(user="u"), _web(user=None))

    assert model["services"]["web"]["user"] == "u"
