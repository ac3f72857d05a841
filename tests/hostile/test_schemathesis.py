"""Schemathesis against our own OpenAPI schema, through the ASGI app in process.

Every documented operation gets schema-driven requests, valid and broken;
every answer must be documented (status, media type, headers, body schema)
and none may be a server error. Two checks do not fit this API and are left
out, each for a reason stated where it is excluded.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import (
    positive_data_acceptance,
    unsupported_method,
)

from service.web.app import create_app
from service.web.settings import Settings

#: Examples per operation; raise it for a longer local run.
EXAMPLES = int(os.environ.get("HOSTILE_SCHEMATHESIS_EXAMPLES", "40"))

schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(Settings(queue_wait_seconds=5.0))
)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_conform_to_the_schema(case: schemathesis.Case[Any]) -> None:
    # The schema can only say "a string" of a YAML body, so a schema-valid
    # body is rarely a valid compose file: its 4xx is right, not a rejection
    # of valid data.
    excluded: list[CheckFunction] = [positive_data_acceptance]
    if case.path == "/":
        # GET / is the HTML page, kept out of the API schema on purpose.
        excluded.append(unsupported_method)

    case.call_and_validate(excluded_checks=excluded)
