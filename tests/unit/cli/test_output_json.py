"""`check --format json` writes exactly what ``json.dumps(document, indent=2)`` writes.

``render_check_json`` encodes each distinct action once and splices the texts together (a large
account's output is mostly the same actions over again); these tests pin that the bytes are those of
the plain ``json.dumps`` of ``{"catalog": ..., "principals": [check.as_dict(), ...]}``, whatever the
checks hold: shared and unshared reasons, empty lists, optional fields, and strings that look like
the document's own layout.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from restorewatch.catalog import default_catalog
from restorewatch.compliance import ActionCheck, ComplianceStatus, PrincipalCheck, ScpCoverage, ScpStatus
from restorewatch.engine.model import (
    Effect,
    LayerKind,
    Limit,
    PolicySource,
    PrincipalKind,
    Reason,
    RequirementStatus,
    StatementRef,
)
from restorewatch_cli.output import render_check_json

# strings written the way the document's own lines are: a splice that searched the text for them
# would cut a message apart
LOOKALIKES = [
    '"actions": []',
    '\n      "actions": []',
    '\n  "principals": []\n}',
    "},\n        {",
    "\n        },\n        {\n",
    "[]",
    'ü ☃ \u2028 \x00 \\ "',
]


def _plain(checks: list[PrincipalCheck]) -> str:
    catalog = default_catalog().catalog_version().as_dict()
    return json.dumps({"catalog": catalog, "principals": [check.as_dict() for check in checks]}, indent=2)


SHARED = Reason(
    "allow",
    LayerKind.IDENTITY,
    "ec2:RunInstances is allowed by Allow statement #0 of managed policy Restore",
    StatementRef(
        PolicySource(LayerKind.IDENTITY, "Restore", "arn:aws:iam::111122223333:policy/Restore"),
        "statement #0",
        Effect.ALLOW,
    ),
)


def _check(arn: str, actions: tuple[ActionCheck, ...], **fields: object) -> PrincipalCheck:
    return PrincipalCheck(
        arn=arn,
        name=arn.rsplit("/", 1)[-1],
        kind=PrincipalKind.ROLE,
        account="111122223333",
        profile="veeam-ec2-restore",
        status=ComplianceStatus.COMPLIANT,
        actions=actions,
        **fields,  # type: ignore[arg-type]
    )


def test_shared_reasons_optional_fields_and_empty_lists_are_written_as_json_dumps_writes_them() -> None:
    limited = Reason(
        "limited_allow",
        LayerKind.BOUNDARY,
        'ec2:RunInstances is allowed only on "*" by ...',
        None,
        limits=(Limit.RESOURCE_SCOPE, Limit.CONDITION),
        condition_keys=("aws:RequestedRegion",),
    )
    same = ActionCheck("ec2:RunInstances", RequirementStatus.ALLOWED, (SHARED,))
    checks = [
        _check("arn:aws:iam::111122223333:role/a", (same, same)),
        _check("arn:aws:iam::111122223333:role/b", (same,), account_name="prod"),
        # the same fields and the same reason object in a new ActionCheck: one text for all three
        _check(
            "arn:aws:iam::111122223333:role/c",
            (
                ActionCheck("ec2:RunInstances", RequirementStatus.ALLOWED, (SHARED,)),
                ActionCheck("ec2:RunInstances", RequirementStatus.PARTIAL, (limited, SHARED)),
                ActionCheck("s3:GetObject", RequirementStatus.UNKNOWN, (), resource="arn:aws:s3:::b/*"),
                ActionCheck("s3:GetObject", RequirementStatus.DENIED, ()),
            ),
            scps=ScpCoverage(ScpStatus.NOT_EVALUATED, "no Organizations access was configured"),
        ),
        _check("arn:aws:iam::111122223333:role/d", (), error="cannot read: policy X is malformed"),
    ]
    assert render_check_json(checks) == _plain(checks)
    assert render_check_json(checks[-1:]) == _plain(checks[-1:])  # no action at all
    assert render_check_json([]) == _plain([])


text = st.one_of(st.sampled_from(LOOKALIKES), st.text(max_size=30))


@st.composite
def _checks(draw: st.DrawFn) -> list[PrincipalCheck]:
    reasons = [
        Reason(
            draw(st.sampled_from(["allow", "no_allow", "limited_deny"])),
            draw(st.sampled_from(list(LayerKind))),
            draw(text),
            draw(st.none() | st.just(SHARED.statement)),
            condition_keys=tuple(draw(st.lists(text, max_size=2))),
        )
        for _ in range(draw(st.integers(1, 4)))
    ]
    action = st.builds(
        ActionCheck,
        st.one_of(text, st.sampled_from(["ec2:RunInstances", "iam:PassRole"])),
        st.sampled_from(list(RequirementStatus)),
        st.lists(st.sampled_from(reasons), max_size=3).map(tuple),
        st.none() | text,
    )
    return [
        _check(
            f"arn:aws:iam::111122223333:role/{draw(text)}",
            tuple(draw(st.lists(action, max_size=5))),
            error=draw(st.none() | text),
            account_name=draw(st.none() | text),
        )
        for _ in range(draw(st.integers(0, 4)))
    ]


@settings(max_examples=200, deadline=None)
@given(_checks())
def test_any_checks_are_written_byte_for_byte_as_json_dumps_writes_them(checks: list[PrincipalCheck]) -> None:
    assert render_check_json(checks) == _plain(checks)
