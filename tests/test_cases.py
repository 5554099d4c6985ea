"""Data-driven evaluation cases: every check in tests/cases/*.json is one pytest test.

The case format is the one of ../shared/spec/evaluation.md (see tests/cases/README.md). Each
expected answer was derived from the spec and the AWS documentation page the file or case cites,
never from running the engine.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from restorewatch.engine.model import RequestResult, RequirementResult

CASES_DIR = Path(__file__).parent / "cases"
MIN_CHECKS = 150
REQUEST_DECISIONS = {"allowed", "explicit_deny", "implicit_deny"}
REQUIREMENT_STATUSES = {"allowed", "partial", "denied"}
# a requirement bound to a resource is unknown when a resource policy it needs was not given
BOUND_STATUSES = {*REQUIREMENT_STATUSES, "unknown"}
AWS_DOC_PREFIXES = ("https://docs.aws.amazon.com/",)


def _case_files() -> list[Path]:
    return sorted(CASES_DIR.glob("*.json"))


@cache
def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _params() -> list[Any]:
    params = []
    for path in _case_files():
        for case_index, case in enumerate(_load(path)["cases"]):
            for check_index, check in enumerate(case["checks"]):
                test_id = f"{path.stem}::{case['name']}::{check_index} {check['action']}"
                params.append(pytest.param(path, case_index, check_index, id=test_id))
    return params


@cache
def _prepared(path: Path, case_index: int) -> tuple[Any, Any, Any, Any]:
    """(principal, scps, rcps, resource policies) for one case, built once and shared by its checks.

    ``rcps`` are the RCP levels of the principal's account (they govern its resources); without
    ``resource_policies`` in the case, no resource policy was given (every one is unknown).
    """
    from restorewatch.engine import (
        AccountSnapshot,
        ResourcePolicies,
        parse_rcps,
        parse_scps,
        resource_policies_from_json,
    )

    case = _load(path)["cases"][case_index]
    snapshot = AccountSnapshot.from_pages([case["authorization_details"]])
    principal = snapshot.principal(case["principal"])
    org = case.get("principal_org")
    if org is not None:  # the organization of the principal's account, as Organizations would say
        principal = replace(principal, org_id=org["id"], org_paths=tuple(org.get("paths", ())))
    scps = parse_scps(case.get("scps"))
    rcps = parse_rcps(case.get("rcps"))
    given = case.get("resource_policies")
    policies = (
        resource_policies_from_json(given, f"{path.name} :: {case['name']}")
        if given is not None
        else ResourcePolicies.unread()
    )
    return principal, scps, rcps, policies


@pytest.mark.parametrize(("path", "case_index", "check_index"), _params())
def test_case(path: Path, case_index: int, check_index: int) -> None:
    from restorewatch.catalog import default_catalog
    from restorewatch.engine import decide_request, policy_holder, requirement_status
    from restorewatch.engine.resources import bound_resource

    case = _load(path)["cases"][case_index]
    check = case["checks"][check_index]
    principal, scps, rcps, policies = _prepared(path, case_index)
    by_account = {principal.account: rcps} if rcps is not None else {}
    doc = case.get("doc") or _load(path)["doc"]
    result: RequestResult | RequirementResult
    if check["kind"] == "request":
        context = check.get("context") or {}
        holder = policy_holder(check["resource"])
        resource_policy = (
            policies.lookup(holder) if holder is not None and "resource_policies" in case else None
        )
        owner = resource_policy.owner(principal.account) if resource_policy else principal.account
        result = decide_request(
            principal,
            check["action"],
            check["resource"],
            context,
            scps,
            resource_policy=resource_policy,
            rcps=by_account.get(owner),
            catalog=default_catalog(),
        )
        got = result.decision.value
        what = f"request {check['action']} on {check['resource']} with context {context}"
    elif "resource" in check:
        bound = bound_resource(check["resource"], policies, principal.account, by_account)
        result = requirement_status(principal, check["action"], scps, default_catalog(), bound=bound)
        got = result.status.value
        what = f"requirement {check['action']} on {check['resource']}"
    else:
        result = requirement_status(principal, check["action"], scps, default_catalog(), rcps=rcps)
        got = result.status.value
        what = f"requirement {check['action']}"
    explanation = getattr(result, "explanation", None)
    if explanation is None:
        explanation = [reason.as_dict() for reason in getattr(result, "reasons", ())]
    assert got == check["expected"], (
        f"{path.name} :: {case['name']} :: {what}\n"
        f"expected {check['expected']!r}, engine said {got!r}\n"
        f"doc: {doc}\n"
        f"note: {case.get('note', '-')}\n"
        f"explanation: {explanation}"
    )


def test_case_files_exist_and_count_checks() -> None:
    files = _case_files()
    assert files, f"no case files in {CASES_DIR}"
    total = sum(len(case["checks"]) for path in files for case in _load(path)["cases"])
    assert total >= MIN_CHECKS, f"only {total} data-driven checks; at least {MIN_CHECKS} are required"


@pytest.mark.parametrize("path", _case_files(), ids=lambda p: p.name)
def test_case_file_is_well_formed(path: Path) -> None:
    data = _load(path)
    assert isinstance(data.get("description"), str), "file needs a description"
    assert data["description"], "file needs a description"
    assert str(data.get("doc", "")).startswith(AWS_DOC_PREFIXES), "file needs an AWS doc URL in 'doc'"
    names = [case["name"] for case in data["cases"]]
    assert len(names) == len(set(names)), "case names must be unique within a file"
    for case in data["cases"]:
        where = f"{path.name} :: {case['name']}"
        if "doc" in case:
            assert str(case["doc"]).startswith(AWS_DOC_PREFIXES), f"{where}: 'doc' must be an AWS doc URL"
        details = case["authorization_details"]
        arns = {p["Arn"] for key in ("UserDetailList", "RoleDetailList") for p in details.get(key, [])}
        assert case["principal"] in arns, f"{where}: principal is not a user or role of the snapshot"
        for key in ("scps", "rcps"):
            levels = case.get(key)
            levels_ok = isinstance(levels, list) and all(isinstance(level, list) for level in levels)
            assert levels is None or levels_ok, f"{where}: {key} must be null or a list of levels"
        given = case.get("resource_policies")
        assert given is None or isinstance(given, dict), f"{where}: resource_policies must be an object"
        assert case["checks"], f"{where}: no checks"
        for check in case["checks"]:
            if check["kind"] == "request":
                assert check["expected"] in REQUEST_DECISIONS, where
                assert isinstance(check["resource"], str), where
                assert isinstance(check.get("context", {}), dict), where
            else:
                assert check["kind"] == "requirement", where
                statuses = BOUND_STATUSES if "resource" in check else REQUIREMENT_STATUSES
                assert check["expected"] in statuses, where
