"""The shapes Docker Compose v2 accepts, written as data the validator walks.

Compose checks every file against the Compose specification's JSON schema
before it reads a single value, so a key we never use can still make it
refuse the file (``healthcheck: {interval: 5}``, ``cap_add: ALL``). This
module is our own description of those shapes, one node per key: which kinds
of value a key takes, which keys a mapping may hold, which are required, and
the few enumerations and patterns the specification fixes. Each rule was
checked against the ``docker compose config`` binary.

The nodes follow JSON Schema's meaning, because that is what Compose runs:

* ``Scalar`` lists the kinds it takes: ``string``, ``integer`` (a number
  with no fraction), ``number``, ``boolean`` and ``null``;
* ``Sequence`` is a list, optionally of distinct items;
* ``Record`` is a mapping with known keys; ``x-`` keys are allowed in most;
* ``Table`` is a mapping of free names (services, labels, ulimits ...);
* ``Either`` is one of several shapes, which in this specification always
  differ in kind (a string or a list, a list or a mapping), so the value's
  own kind picks the one to check against.

See https://github.com/compose-spec/compose-spec/blob/main/spec.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

STRING = "string"
INTEGER = "integer"
NUMBER = "number"
BOOLEAN = "boolean"
NULL = "null"


@dataclass(frozen=True)
class Scalar:
    """A single value of one of ``kinds``, with optional limits on it."""

    kinds: tuple[str, ...]
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Sequence:
    """A list whose every item has the shape ``items``."""

    items: Node
    unique: bool = False


@dataclass(frozen=True)
class Record:
    """A mapping with named keys; any other key is refused when ``closed``."""

    keys: Mapping[str, Node]
    required: tuple[str, ...] = ()
    extensions: bool = True
    closed: bool = True


@dataclass(frozen=True)
class Table:
    """A mapping of free names to values of one shape.

    A name must fully match ``names`` (None: any non-empty name). A name
    that does not is refused when ``closed`` and let through otherwise.
    """

    values: Node
    names: str | None = None
    closed: bool = True
    extensions: bool = False


@dataclass(frozen=True)
class Either:
    """One of several shapes, told apart by the kind of the value."""

    choices: tuple[Node, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Anything:
    """Any value at all (the specification leaves it open)."""


Node = Scalar | Sequence | Record | Table | Either | Anything

ANY = Anything()
STR = Scalar((STRING,))
INT = Scalar((INTEGER,))
NUM = Scalar((NUMBER,))
BOOL = Scalar((BOOLEAN,))
INT_OR_STR = Scalar((INTEGER, STRING))
NUM_OR_STR = Scalar((NUMBER, STRING))
BOOL_OR_STR = Scalar((BOOLEAN, STRING))
STR_OR_NUM = Scalar((STRING, NUMBER))
NAME = r"[a-zA-Z0-9._-]+"

# Compose drops repeated items from some lists before it validates (the
# lists it also deduplicates when merging files), so only the others must
# hold distinct items: ``cap_add: [A, A]`` passes, ``security_opt: [a, a]``
# does not.
STRINGS = Sequence(STR, unique=True)
MERGED_STRINGS = Sequence(STR)
STRING_OR_LIST = Either((STR, STRINGS))
MERGED_STRING_OR_LIST = Either((STR, MERGED_STRINGS))
_ENV_VALUE = Scalar((STRING, NUMBER, BOOLEAN, NULL))
LIST_OR_DICT = Either((Table(_ENV_VALUE), Sequence(STR, unique=True)))
MERGED_LIST_OR_DICT = Either((Table(_ENV_VALUE), MERGED_STRINGS))
COMMAND = Either((Scalar((NULL,)), STR, Sequence(STR)))
DRIVER_OPTS = Table(STR_OR_NUM, closed=False)
EXTERNAL = Either((BOOL_OR_STR, Record({"name": STR}, closed=False)))
STRICT_EXTERNAL = Either((BOOL_OR_STR, Record({"name": STR})))

HOOK = Record(
    {
        "command": COMMAND,
        "user": STR,
        "privileged": BOOL_OR_STR,
        "working_dir": STR,
        "environment": LIST_OR_DICT,
    },
    required=("command",),
)
ULIMITS = Table(
    Either(
        (INT_OR_STR, Record({"hard": INT_OR_STR, "soft": INT_OR_STR}, ("soft", "hard")))
    ),
    names=r"[a-z]+",
    closed=False,
)
EXTRA_HOSTS = Either((Table(Either((STR, Sequence(STR)))), Sequence(STR, unique=True)))
CONFIG_OR_SECRET = Sequence(
    Either(
        (
            STR,
            Record(
                {
                    "source": STR,
                    "target": STR,
                    "uid": STR,
                    "gid": STR,
                    "mode": NUM_OR_STR,
                }
            ),
        )
    )
)
DEVICE_REQUEST: dict[str, Node] = {
    "capabilities": STRINGS,
    "count": INT_OR_STR,
    "device_ids": STRINGS,
    "driver": STR,
    "options": LIST_OR_DICT,
}

BUILD = Either(
    (
        STR,
        Record(
            {
                "context": STR,
                "dockerfile": STR,
                "dockerfile_inline": STR,
                "entitlements": Sequence(STR),
                "args": MERGED_LIST_OR_DICT,
                "ssh": LIST_OR_DICT,
                "labels": MERGED_LIST_OR_DICT,
                "cache_from": Sequence(STR),
                "cache_to": Sequence(STR),
                "no_cache": BOOL_OR_STR,
                "additional_contexts": MERGED_LIST_OR_DICT,
                "network": STR,
                "provenance": BOOL_OR_STR,
                "sbom": BOOL_OR_STR,
                "pull": BOOL_OR_STR,
                "target": STR,
                "shm_size": INT_OR_STR,
                "extra_hosts": EXTRA_HOSTS,
                "isolation": STR,
                "privileged": BOOL_OR_STR,
                "secrets": CONFIG_OR_SECRET,
                "tags": MERGED_STRINGS,
                "ulimits": ULIMITS,
                "platforms": MERGED_STRINGS,
            }
        ),
    )
)

_BLKIO_LIMIT = Sequence(Record({"path": STR, "rate": INT_OR_STR}, extensions=False))
BLKIO_CONFIG = Record(
    {
        "device_read_bps": _BLKIO_LIMIT,
        "device_read_iops": _BLKIO_LIMIT,
        "device_write_bps": _BLKIO_LIMIT,
        "device_write_iops": _BLKIO_LIMIT,
        "weight": INT_OR_STR,
        "weight_device": Sequence(
            Record({"path": STR, "weight": INT_OR_STR}, extensions=False)
        ),
    },
    extensions=False,
)

DEPENDS_ON = Either(
    (
        STRINGS,
        Table(
            Record(
                {
                    "restart": BOOL_OR_STR,
                    "required": BOOL,
                    "condition": Scalar(
                        (STRING,),
                        choices=(
                            "service_started",
                            "service_healthy",
                            "service_completed_successfully",
                        ),
                    ),
                },
                required=("condition",),
            ),
            names=NAME,
        ),
    )
)

DEVICES = Sequence(
    Either(
        (
            STR,
            Record(
                {"source": STR, "target": STR, "permissions": STR},
                required=("source",),
            ),
        )
    )
)

ENV_FILE = Either(
    (
        STR,
        Sequence(
            Either(
                (
                    STR,
                    Record(
                        {"path": STR, "format": STR, "required": BOOL_OR_STR},
                        required=("path",),
                        extensions=False,
                    ),
                )
            )
        ),
    )
)

EXTENDS = Either(
    (STR, Record({"service": STR, "file": STR}, ("service",), extensions=False))
)

GPUS = Either(
    (
        Scalar((STRING,), choices=("all",)),
        Sequence(Record(DEVICE_REQUEST, closed=False)),
    )
)

HEALTHCHECK = Record(
    {
        "disable": BOOL_OR_STR,
        "interval": STR,
        "retries": NUM_OR_STR,
        "test": Either((STR, Sequence(STR))),
        "timeout": STR,
        "start_period": STR,
        "start_interval": STR,
    }
)

LOGGING = Record(
    {
        "driver": STR,
        "options": Table(Scalar((STRING, NUMBER, NULL)), closed=False),
    }
)

SERVICE_MODELS = Either(
    (
        STRINGS,
        Table(
            Either((Record({"endpoint_var": STR, "model_var": STR}), Scalar((NULL,)))),
            names=NAME,
            closed=False,
        ),
    )
)

SERVICE_NETWORKS = Either(
    (
        STRINGS,
        Table(
            Either(
                (
                    Record(
                        {
                            "aliases": MERGED_STRINGS,
                            "interface_name": STR,
                            "ipv4_address": STR,
                            "ipv6_address": STR,
                            "link_local_ips": MERGED_STRINGS,
                            "mac_address": STR,
                            "driver_opts": DRIVER_OPTS,
                            "priority": NUM,
                            "gw_priority": NUM,
                        }
                    ),
                    Scalar((NULL,)),
                )
            ),
            names=NAME,
        ),
    )
)

PORTS = Sequence(
    Either(
        (
            NUM,
            STR,
            Record(
                {
                    "name": STR,
                    "mode": STR,
                    "host_ip": STR,
                    "target": INT_OR_STR,
                    "published": Scalar((STRING, INTEGER)),
                    "protocol": STR,
                    "app_protocol": STR,
                }
            ),
        )
    ),
)

VOLUMES = Sequence(
    Either(
        (
            STR,
            Record(
                {
                    "type": Scalar(
                        (STRING,),
                        choices=(
                            "bind",
                            "volume",
                            "tmpfs",
                            "cluster",
                            "npipe",
                            "image",
                        ),
                    ),
                    "source": STR,
                    "target": STR,
                    "read_only": BOOL_OR_STR,
                    "consistency": STR,
                    "bind": Record(
                        {
                            "propagation": STR,
                            "create_host_path": BOOL_OR_STR,
                            "recursive": Scalar(
                                (STRING,),
                                choices=("enabled", "disabled", "writable", "readonly"),
                            ),
                            "selinux": Scalar((STRING,), choices=("z", "Z")),
                        }
                    ),
                    "volume": Record(
                        {"labels": LIST_OR_DICT, "nocopy": BOOL_OR_STR, "subpath": STR}
                    ),
                    "tmpfs": Record(
                        {
                            "size": Either((Scalar((INTEGER,), minimum=0), STR)),
                            "mode": NUM_OR_STR,
                        }
                    ),
                    "image": Record({"subpath": STR}),
                },
                required=("type",),
            ),
        )
    ),
)

_UPDATE_CONFIG = Record(
    {
        "parallelism": INT_OR_STR,
        "delay": STR,
        "failure_action": STR,
        "monitor": STR,
        "max_failure_ratio": NUM_OR_STR,
        "order": Scalar((STRING,), choices=("start-first", "stop-first")),
    }
)
DEVICE_RESERVATIONS = Sequence(Record(DEVICE_REQUEST, required=("capabilities",)))
GENERIC_RESOURCES = Sequence(
    Record({"discrete_resource_spec": Record({"kind": STR, "value": NUM_OR_STR})})
)
DEPLOY = Either(
    (
        Scalar((NULL,)),
        Record(
            {
                "mode": STR,
                "endpoint_mode": STR,
                "replicas": INT_OR_STR,
                "labels": MERGED_LIST_OR_DICT,
                "rollback_config": _UPDATE_CONFIG,
                "update_config": _UPDATE_CONFIG,
                "resources": Record(
                    {
                        "limits": Record(
                            {"cpus": NUM_OR_STR, "memory": STR, "pids": INT_OR_STR}
                        ),
                        "reservations": Record(
                            {
                                "cpus": NUM_OR_STR,
                                "memory": STR,
                                "generic_resources": GENERIC_RESOURCES,
                                "devices": DEVICE_RESERVATIONS,
                            }
                        ),
                    }
                ),
                "restart_policy": Record(
                    {
                        "condition": STR,
                        "delay": STR,
                        "max_attempts": INT_OR_STR,
                        "window": STR,
                    }
                ),
                "placement": Record(
                    {
                        "constraints": Sequence(STR),
                        "preferences": Sequence(Record({"spread": STR})),
                        "max_replicas_per_node": INT_OR_STR,
                    }
                ),
            }
        ),
    )
)

DEVELOP = Either(
    (
        Scalar((NULL,)),
        Record(
            {
                "watch": Sequence(
                    Record(
                        {
                            "ignore": STRING_OR_LIST,
                            "include": STRING_OR_LIST,
                            "path": STR,
                            "action": Scalar(
                                (STRING,),
                                choices=(
                                    "rebuild",
                                    "sync",
                                    "restart",
                                    "sync+restart",
                                    "sync+exec",
                                ),
                            ),
                            "target": STR,
                            "exec": HOOK,
                            "initial_sync": BOOL,
                        },
                        required=("path", "action"),
                    )
                )
            }
        ),
    )
)

SERVICE = Record(
    {
        "develop": DEVELOP,
        "deploy": DEPLOY,
        "annotations": MERGED_LIST_OR_DICT,
        "attach": BOOL_OR_STR,
        "build": BUILD,
        "blkio_config": BLKIO_CONFIG,
        "cap_add": MERGED_STRINGS,
        "cap_drop": MERGED_STRINGS,
        "cgroup": Scalar((STRING,), choices=("host", "private")),
        "cgroup_parent": STR,
        "command": COMMAND,
        "configs": CONFIG_OR_SECRET,
        "container_name": Scalar((STRING,), pattern="[a-zA-Z0-9][a-zA-Z0-9_.-]+"),
        "cpu_count": Either((STR, Scalar((INTEGER,), minimum=0))),
        "cpu_percent": Either((STR, Scalar((INTEGER,), minimum=0, maximum=100))),
        "cpu_shares": NUM_OR_STR,
        "cpu_quota": NUM_OR_STR,
        "cpu_period": NUM_OR_STR,
        "cpu_rt_period": NUM_OR_STR,
        "cpu_rt_runtime": NUM_OR_STR,
        "cpus": NUM_OR_STR,
        "cpuset": STR,
        "credential_spec": Record({"config": STR, "file": STR, "registry": STR}),
        "depends_on": DEPENDS_ON,
        "device_cgroup_rules": STRINGS,
        "devices": DEVICES,
        "dns": MERGED_STRING_OR_LIST,
        "dns_opt": MERGED_STRINGS,
        "dns_search": MERGED_STRING_OR_LIST,
        "domainname": STR,
        "entrypoint": COMMAND,
        "env_file": ENV_FILE,
        "label_file": Either((STR, Sequence(STR))),
        "environment": MERGED_LIST_OR_DICT,
        "expose": Sequence(STR_OR_NUM),
        "extends": EXTENDS,
        "provider": Record(
            {
                "type": STR,
                "options": Table(
                    Either(
                        (
                            Scalar((STRING, NUMBER, BOOLEAN)),
                            Sequence(Scalar((STRING, NUMBER, BOOLEAN))),
                        )
                    ),
                    closed=False,
                ),
            },
            required=("type",),
        ),
        "external_links": STRINGS,
        "extra_hosts": EXTRA_HOSTS,
        "gpus": GPUS,
        "group_add": Sequence(STR_OR_NUM, unique=True),
        "healthcheck": HEALTHCHECK,
        "hostname": STR,
        "image": STR,
        "init": BOOL_OR_STR,
        "ipc": STR,
        "isolation": STR,
        "labels": MERGED_LIST_OR_DICT,
        "links": MERGED_STRINGS,
        "logging": LOGGING,
        "mac_address": STR,
        "mem_limit": NUM_OR_STR,
        "mem_reservation": INT_OR_STR,
        "mem_swappiness": INT_OR_STR,
        "memswap_limit": NUM_OR_STR,
        "network_mode": STR,
        "models": SERVICE_MODELS,
        "networks": SERVICE_NETWORKS,
        "oom_kill_disable": BOOL_OR_STR,
        "oom_score_adj": Either((STR, Scalar((INTEGER,), minimum=-1000, maximum=1000))),
        "pid": Scalar((STRING, NULL)),
        "pids_limit": NUM_OR_STR,
        "platform": STR,
        "ports": PORTS,
        "post_start": Sequence(HOOK),
        "pre_stop": Sequence(HOOK),
        "privileged": BOOL_OR_STR,
        "profiles": MERGED_STRINGS,
        "pull_policy": Scalar(
            (STRING,),
            pattern="always|never|build|if_not_present|missing|refresh|daily|weekly"
            "|every_([0-9]+[wdhms])+",
        ),
        "pull_refresh_after": STR,
        "read_only": BOOL_OR_STR,
        "restart": STR,
        "runtime": STR,
        "scale": INT_OR_STR,
        "security_opt": STRINGS,
        "shm_size": NUM_OR_STR,
        "secrets": CONFIG_OR_SECRET,
        "sysctls": MERGED_LIST_OR_DICT,
        "stdin_open": BOOL_OR_STR,
        "stop_grace_period": STR,
        "stop_signal": STR,
        "storage_opt": Table(ANY, closed=False),
        "tmpfs": MERGED_STRING_OR_LIST,
        "tty": BOOL_OR_STR,
        "ulimits": ULIMITS,
        "use_api_socket": BOOL,
        "user": STR,
        "uts": STR,
        "userns_mode": STR,
        "volumes": VOLUMES,
        "volumes_from": STRINGS,
        "working_dir": STR,
    }
)

NETWORK = Either(
    (
        Scalar((NULL,)),
        Record(
            {
                "name": STR,
                "driver": STR,
                "driver_opts": DRIVER_OPTS,
                "ipam": Record(
                    {
                        "driver": STR,
                        "config": Sequence(
                            Record(
                                {
                                    "subnet": STR,
                                    "ip_range": STR,
                                    "gateway": STR,
                                    "aux_addresses": Table(STR),
                                }
                            )
                        ),
                        "options": Table(STR),
                    }
                ),
                "external": STRICT_EXTERNAL,
                "internal": BOOL_OR_STR,
                "enable_ipv4": BOOL_OR_STR,
                "enable_ipv6": BOOL_OR_STR,
                "attachable": BOOL_OR_STR,
                "labels": MERGED_LIST_OR_DICT,
            }
        ),
    )
)

VOLUME = Either(
    (
        Scalar((NULL,)),
        Record(
            {
                "name": STR,
                "driver": STR,
                "driver_opts": DRIVER_OPTS,
                "external": STRICT_EXTERNAL,
                "labels": LIST_OR_DICT,
            }
        ),
    )
)

SECRET = Record(
    {
        "name": STR,
        "environment": STR,
        "file": STR,
        "external": EXTERNAL,
        "labels": LIST_OR_DICT,
        "driver": STR,
        "driver_opts": DRIVER_OPTS,
        "template_driver": STR,
    }
)

CONFIG = Record(
    {
        "name": STR,
        "content": STR,
        "environment": STR,
        "file": STR,
        "external": EXTERNAL,
        "labels": LIST_OR_DICT,
        "template_driver": STR,
    }
)

MODEL = Record(
    {
        "name": STR,
        "model": STR,
        "context_size": INT,
        "runtime_flags": Sequence(STR),
    },
    required=("model",),
)

INCLUDE = Either(
    (
        STR,
        Record(
            {
                "path": STRING_OR_LIST,
                "env_file": STRING_OR_LIST,
                "project_directory": STR,
            },
            extensions=False,
        ),
    )
)

COMPOSE_FILE = Record(
    {
        "version": STR,
        "name": STR,
        "include": Either((Scalar((NULL,)), Sequence(INCLUDE))),
        "services": Table(SERVICE, names=NAME),
        "models": Table(MODEL, names=NAME, closed=False),
        "networks": Table(NETWORK, names=NAME, closed=False),
        "volumes": Table(VOLUME, names=NAME),
        "secrets": Table(SECRET, names=NAME),
        "configs": Table(CONFIG, names=NAME),
    }
)
