"""Every REST operation fuzzed from the server's own OpenAPI document (schemathesis): valid and invalid
bodies, queries and path parameters (schemathesis' positive and negative modes), as an admin; no answer
may be a 5xx, and every error is our JSON."""

import json

import pytest
import requests
import schemathesis
from hypothesis import given, settings
from schemathesis.checks import not_a_server_error

from tests.fuzz.conftest import assert_server_healthy
from tests.support.server import ADMIN_PASSWORD

# operations that end the fuzzer's own login (it would then only see 401s) are fuzzed without a token
REVOKING = ("/api/v1/auth/logout", "/api/v1/me/password", "/api/v1/admin/agents/{login}/password",
            "/api/v1/admin/agents/{login}")


@pytest.fixture(scope="module")
def rest_schema(fuzz_server):
    return schemathesis.openapi.from_url(fuzz_server.url + "/api/v1/openapi.json")


@pytest.fixture(scope="module")
def admin_token(fuzz_server):
    r = requests.post(fuzz_server.url + "/api/v1/auth/login", json={"login": "admin", "password": ADMIN_PASSWORD,
                                                                     "client": "web"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["token"]


def check(case, admin_token) -> None:
    headers = {} if case.operation.path in REVOKING else {"Authorization": f"Bearer {admin_token}"}
    response = case.call(headers=headers, timeout=30)
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400 and case.operation.path != "/ws":
        body = json.loads(response.content)
        assert isinstance(body, dict) and body.get("error") and body.get("message"), response.content[:300]


# schemathesis' lazy pytest mode (from_fixture) does not run under pytest 9, so each operation's
# strategy (the documented ``as_strategy``) is driven by hypothesis here
def test_no_operation_answers_5xx(rest_schema, admin_token):
    operations = [result.ok() for result in rest_schema.get_all_operations()]
    assert len(operations) >= 40
    for operation in operations:
        @given(case=operation.as_strategy() | operation.as_strategy(schemathesis.GenerationMode.NEGATIVE))
        @settings(settings.get_profile("fuzz"))
        def fuzz(case):
            check(case, admin_token)

        fuzz()


def test_the_fuzzed_server_is_still_healthy(fuzz_server):
    assert requests.get(fuzz_server.url + "/healthz", timeout=10).status_code == 200
    assert_server_healthy(fuzz_server)
