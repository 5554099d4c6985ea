"""`restorewatch check` on an account whose policy holds a hostile wildcard pattern (issue 10, item 3).

The issue: a 60-character tag and a 178-character ``StringLike`` pattern (``*a*a*a...*b``) made
``restorewatch check`` run for more than 30 s, and a sweep past its timeout, leaving every principal
after it unchecked. The same account here must be checked whole, in well under a second.

A backtracking matcher would never return: the check runs under a 10 s deadline
(``support.deadline``) so that it fails instead of hanging, and the assertion asks for under 2 s.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from restorewatch.profiles import ProfileRegistry
from restorewatch_cli import main
from support.deadline import deadline

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

ACCOUNT = "111122223333"
PROFILE = "veeam-ec2-restore"
# Both of the readings (see tests/unit/engine/test_wildcard_worst_case.py): 178 characters each.
PATTERNS = ["*a" * 88 + "*b", "**a" * 58 + "***b"]


def _role(name: str, team: str | None) -> dict[str, Any]:
    actions = list(ProfileRegistry.default().get(PROFILE).actions)
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Restore", "Effect": "Allow", "Action": actions, "Resource": "*"},
            {
                "Sid": "NoTeamPattern",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringLike": {"aws:PrincipalTag/team": PATTERNS}},
            },
        ],
    }
    tags = [{"Key": "restorewatch:profile", "Value": PROFILE}]
    if team is not None:
        tags.append({"Key": "team", "Value": team})
    return {
        "Path": "/",
        "RoleName": name,
        "RoleId": f"AROA{name.upper().replace('-', '')}",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
        "RolePolicyList": [{"PolicyName": "restore", "PolicyDocument": document}],
        "AttachedManagedPolicies": [],
        "Tags": tags,
    }


def test_check_hostile_pattern_and_60_character_tag_checks_every_principal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every watched principal is checked, each with the right answer, in well under a second.

    * ``a-sixty``: a 60-character tag that neither pattern matches: the Deny does not apply.
    * ``b-matched``: an 89-character tag the first pattern matches: the Deny applies to everything.
    * ``c-untagged``: no ``team`` tag (a ``StringLike`` on an absent key is false): compliant; it is
      checked after the other two, as the principals after a stalled one were not.
    """
    assert all(len(pattern) == 178 for pattern in PATTERNS)
    roles = [_role("a-sixty", "a" * 60), _role("b-matched", "a" * 88 + "b"), _role("c-untagged", None)]
    auth = tmp_path / "auth.json"
    auth.write_text(
        json.dumps({"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": []})
    )
    with deadline(10, "restorewatch check"):
        started = time.perf_counter()
        code = main(["check", "--auth-details", str(auth), "--format", "json"])
        elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"restorewatch check took {elapsed:.2f} s"
    document = json.loads(capsys.readouterr().out)
    statuses = {entry["arn"].rsplit("/", 1)[1]: entry["status"] for entry in document["principals"]}
    assert statuses == {"a-sixty": "compliant", "b-matched": "non_compliant", "c-untagged": "compliant"}
    assert code == 1
