"""``RESTOREWATCH_LOCAL_ENDPOINT_URL``: how ``sam local invoke`` points the functions at moto's server.

``sam local invoke --env-vars`` overrides only the variables a function declares
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-cli-using-invoke.html#serverless-sam-cli-using-invoke-environment-file),
so the template declares this one, empty, for every function. Empty must mean AWS; a value must be
followed only inside ``sam local`` (SAM CLI sets ``AWS_SAM_LOCAL=true`` in its containers; Lambda
never does), and anywhere else it must fail loudly rather than send reads and alerts elsewhere.
"""

from __future__ import annotations

from typing import Any

import pytest

from restorewatch.errors import InputError
from restorewatch.inventory.clients import (
    LOCAL_ENDPOINT_ENV,
    SAM_LOCAL_ENV,
    local_endpoint_url,
    make_client,
    resolve_endpoint_url,
)
from support.template import function_environment, load_template

ENDPOINT = "http://172.17.0.1:5123"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (LOCAL_ENDPOINT_ENV, SAM_LOCAL_ENV, "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)


def test_empty_value_is_inert_in_and_out_of_sam_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOCAL_ENDPOINT_ENV, "")
    assert local_endpoint_url() is None
    assert resolve_endpoint_url("dynamodb") is None
    monkeypatch.setenv(SAM_LOCAL_ENV, "true")
    monkeypatch.setenv(LOCAL_ENDPOINT_ENV, "  ")
    assert resolve_endpoint_url("dynamodb") is None


def test_deployed_default_gives_clients_aws_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the template gives a deployed function (the empty string) leaves botocore's AWS endpoint."""
    monkeypatch.setenv(LOCAL_ENDPOINT_ENV, function_environment("WatcherFunction")[LOCAL_ENDPOINT_ENV])
    client = make_client("dynamodb", region_name="us-east-1")
    assert client.meta.endpoint_url == "https://dynamodb.us-east-1.amazonaws.com"


def test_followed_inside_sam_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SAM_LOCAL_ENV, "true")
    monkeypatch.setenv(LOCAL_ENDPOINT_ENV, ENDPOINT)
    assert resolve_endpoint_url("dynamodb") == ENDPOINT
    assert make_client("secretsmanager").meta.endpoint_url == ENDPOINT


def test_aws_endpoint_variables_and_explicit_url_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SAM_LOCAL_ENV, "true")
    monkeypatch.setenv(LOCAL_ENDPOINT_ENV, ENDPOINT)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:2")
    assert resolve_endpoint_url("dynamodb") == "http://127.0.0.1:2"
    assert resolve_endpoint_url("sns") == "http://127.0.0.1:1"
    assert resolve_endpoint_url("sns", "http://127.0.0.1:3") == "http://127.0.0.1:3"


@pytest.mark.parametrize("sam_local", [None, "false", "1", ""])
def test_value_outside_sam_local_fails_loudly(monkeypatch: pytest.MonkeyPatch, sam_local: str | None) -> None:
    """A deployed function whose variable was edited, or a shell that exported it: an error naming
    the variable, never a client pointed elsewhere (nor one that silently ignores it)."""
    if sam_local is not None:
        monkeypatch.setenv(SAM_LOCAL_ENV, sam_local)
    monkeypatch.setenv(LOCAL_ENDPOINT_ENV, ENDPOINT)
    with pytest.raises(InputError, match=LOCAL_ENDPOINT_ENV):
        resolve_endpoint_url("iam")
    with pytest.raises(InputError, match="not `sam local invoke`"):
        make_client("iam")


@pytest.mark.parametrize("value", ["127.0.0.1:5000", "ftp://127.0.0.1", "http://", "file:///etc/passwd"])
def test_malformed_value_is_rejected(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(SAM_LOCAL_ENV, "true")
    monkeypatch.setenv(LOCAL_ENDPOINT_ENV, value)
    with pytest.raises(InputError, match=r"http\(s\)"):
        local_endpoint_url()


def test_explicit_environment_mapping() -> None:
    assert local_endpoint_url({SAM_LOCAL_ENV: "True", LOCAL_ENDPOINT_ENV: ENDPOINT}) == ENDPOINT
    assert local_endpoint_url({}) is None


# -- the template ---------------------------------------------------------------------------------


def _functions(template: dict[str, Any]) -> list[str]:
    return [
        logical_id
        for logical_id, spec in template["Resources"].items()
        if spec["Type"] == "AWS::Serverless::Function"
    ]


def test_template_declares_the_variable_empty_for_every_function() -> None:
    """Declared (so `--env-vars` can set it) and empty (so deployed functions use AWS)."""
    template = load_template()
    declared = template["Globals"]["Function"]["Environment"]["Variables"]
    assert declared[LOCAL_ENDPOINT_ENV] == ""  # a literal: no parameter or intrinsic can feed it
    functions = _functions(template)
    assert {"WatcherFunction", "SlackFunction"} <= set(functions)
    for logical_id in functions:
        assert function_environment(logical_id)[LOCAL_ENDPOINT_ENV] == ""


def test_no_deploy_time_input_can_point_a_stack_elsewhere() -> None:
    template = load_template()
    for name, spec in template["Parameters"].items():
        text = f"{name} {spec.get('Description', '')}".lower()
        assert "endpoint" not in text, f"parameter {name} looks like an endpoint override"
    for logical_id in _functions(template):
        own = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        assert LOCAL_ENDPOINT_ENV not in own, f"{logical_id} overrides the Globals value"
        assert "AWS_ENDPOINT_URL" not in function_environment(logical_id)
