"""Every API operation, fed generated requests from the OpenAPI document (schemathesis): no
5xx, and every reply conforms to the documented schema. A fixed seed and a bounded number of
examples per operation keep it repeatable and inside the test-time budget."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.orgchart import Org

# Three examples per operation (hypothesis starts with the boundary values) for each of the
# ~80 operations on two databases keeps this near a minute of the suite's budget.
EXAMPLES_PER_OPERATION = 3


@pytest.fixture
def api_schema(app: FastAPI, org: Org) -> Any:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


@pytest.fixture
def director_token(client_as: Callable[[str], TestClient]) -> str:
    client = client_as("director")
    return str(client.headers["Authorization"])


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@seed(20261207)
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_gets_a_server_error(case: Any, director_token: str) -> None:
    case.call_and_validate(
        headers={"Authorization": director_token},
        checks=[not_a_server_error, response_schema_conformance],
    )
