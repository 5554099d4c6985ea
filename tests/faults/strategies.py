"""Hypothesis strategies for bad input: policy documents, events, SQS records, profiles, tag values.

Each mixes well-formed values (so that deep code paths are reached) with the malformed ones the
issue lists: wrong types, huge statements, deep nesting, invalid JSON, unknown condition operators,
invalid IP ranges and dates, URL-encoded garbage and non-ASCII text.

The settings profile ``restorewatch-fuzz`` (derandomized, no deadline, no example database) makes
CI runs reproducible; ``FUZZ_EXAMPLES`` scales every property's example count.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "restorewatch-fuzz",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def fuzz_settings(examples: int) -> settings:
    return settings(settings.get_profile("restorewatch-fuzz"), max_examples=max(1, int(examples * SCALE)))


TEXT = st.text(max_size=40)  # any unicode, non-ASCII included
# Long wildcard patterns (issue 10, item 3): the ``*a*a*a...*b`` family and its ``?``/``**`` variants,
# exponential for a backtracking matcher; their letters occur in the actions and ARNs checks compare.
LONG_WILDCARDS = st.one_of(
    st.integers(20, 120).map(lambda n: "*a" * n + "*b"),
    st.integers(20, 60).map(lambda n: "**a" * n + "***b"),
    st.integers(10, 40).map(lambda n: "*?" * n + "*x"),
    st.integers(10, 40).map(lambda n: "*a?" * n + "*"),
)
ACTIONS = st.sampled_from(
    ["ec2:RunInstances", "s3:GetObject", "s3:*", "*", "ec2:Describe*", "iam:PassRole", "kms:Decrypt"]
) | LONG_WILDCARDS.map(lambda pattern: "ec2:" + pattern)
GARBAGE_ACTIONS = st.one_of(TEXT, st.integers(), st.none(), st.just(""), st.just("s3"), st.just("::"))
OPERATORS = st.sampled_from(
    [
        "StringEquals", "StringLike", "StringNotEquals", "ArnLike", "IpAddress", "NotIpAddress",
        "DateGreaterThan", "DateLessThan", "NumericLessThan", "Bool", "Null", "BinaryEquals",
        "ForAnyValue:StringEquals", "ForAllValues:StringLike", "StringEqualsIfExists",
        "StringFrobnicate", "ForSomeValues:StringEquals", "IpAddressIfExists", "", "Date",
    ]
)  # fmt: skip
CONDITION_KEYS = st.sampled_from(
    [
        "aws:SourceIp",
        "aws:CurrentTime",
        "aws:username",
        "aws:MultiFactorAuthPresent",
        "ec2:Region",
        "s3:prefix",
        "aws:PrincipalArn",  # principal-derived: checks evaluate it, so long patterns meet a real value
    ]
)
IPS = st.one_of(
    st.ip_addresses().map(str),
    st.builds(lambda ip, bits: f"{ip}/{bits}", st.ip_addresses().map(str), st.integers(-5, 200)),
    st.sampled_from(["300.1.1.1/8", "10.0.0.0/33", "::::/64", "1.2.3", "fe80::1%eth0", "10.0.0.1/"]),
)
DATES = st.one_of(
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(["2024-13-45T25:61:00Z", "yesterday", "0", "1e400", "2024-02-30", "9999999999999999"]),
    st.integers().map(str),
)
CONDITION_VALUES = st.one_of(
    LONG_WILDCARDS,
    IPS,
    DATES,
    TEXT,
    st.booleans(),
    st.integers(),
    st.none(),
    st.lists(st.one_of(IPS, DATES, TEXT), max_size=4),
)
CONDITION = st.dictionaries(
    OPERATORS, st.dictionaries(CONDITION_KEYS, CONDITION_VALUES, max_size=3), max_size=3
)
RESOURCES = st.one_of(
    st.just("*"),
    LONG_WILDCARDS.map(lambda pattern: "arn:aws:s3:::" + pattern),
    st.sampled_from(["arn:aws:s3:::bucket/*", "arn:aws:ec2:*:*:instance/*", "arn:aws:iam::${aws:username}"]),
    TEXT,
)


def _element(valid: st.SearchStrategy[Any], garbage: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(valid, st.lists(valid, max_size=4), garbage)


STATEMENT = st.fixed_dictionaries(
    {
        "Effect": st.one_of(st.sampled_from(["Allow", "Deny"]), TEXT, st.integers()),
        "Action": _element(ACTIONS, GARBAGE_ACTIONS),
    },
    optional={
        "Resource": _element(RESOURCES, st.integers()),
        "NotAction": _element(ACTIONS, GARBAGE_ACTIONS),
        "NotResource": _element(RESOURCES, st.none()),
        "Condition": st.one_of(CONDITION, TEXT, st.lists(TEXT, max_size=2)),
        "Principal": st.one_of(st.just("*"), TEXT),
        "Sid": st.one_of(TEXT, st.integers()),
        "Unknown": TEXT,
    },
)
JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
DEEP = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=30,
)


def _deep_nesting(depth: int) -> Any:
    value: Any = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    for _ in range(depth):
        value = {"Statement": [value]}
    return value


HUGE_STATEMENT = st.integers(200, 2000).map(
    lambda n: {"Effect": "Allow", "Action": [f"ec2:Action{i}" for i in range(n)], "Resource": "*"}
)
DOCUMENT = st.fixed_dictionaries(
    {
        "Version": st.one_of(st.sampled_from(["2012-10-17", "2008-10-17"]), TEXT, st.integers()),
        "Statement": st.one_of(
            STATEMENT, st.lists(st.one_of(STATEMENT, HUGE_STATEMENT, DEEP), max_size=4), DEEP
        ),
    }
)


def _as_text(document: Any) -> st.SearchStrategy[Any]:
    text = json.dumps(document)
    return st.sampled_from(
        [
            document,
            text,
            urllib.parse.quote(text),  # how IAM's API returns documents
            text[: len(text) // 2],  # truncated: invalid JSON
            urllib.parse.quote(text)[:-1] + "%",  # URL-encoded garbage
            "%ZZ" + text,
        ]
    )


POLICY_DOCUMENTS = st.one_of(
    DOCUMENT.flatmap(_as_text),
    DEEP,
    st.integers(0, 400).map(_deep_nesting),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    TEXT,
)

# tag values: IAM allows letters, digits, spaces and _ . : / = + - @ (up to 256 characters)
TAG_VALUES = st.one_of(
    st.text(alphabet=st.characters(categories=["L", "N", "Zs"], include_characters="_.:/=+-@"), max_size=80),
    st.sampled_from(["", " ", "veeam-ec2-restore veeam-ec2-restore", "restore-small nope", "a" * 256]),
    TEXT,
)


def _cloudtrail(detail_overrides: dict[str, Any], envelope_overrides: dict[str, Any]) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/x/y"},
        "eventTime": "2026-03-14T10:00:00Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "DetachRolePolicy",
        "awsRegion": "us-east-1",
        "requestParameters": {"roleName": "nobody", "policyArn": "arn:aws:iam::111122223333:policy/x"},
        "eventID": "e",
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    }
    detail.update(detail_overrides)
    event: dict[str, Any] = {
        "version": "0",
        "id": "i",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam",
        "account": "111122223333",
        "time": "2026-03-14T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }
    event.update(envelope_overrides)
    return event


EVENT_FIELDS = st.sampled_from(
    [
        "eventName",
        "eventTime",
        "eventSource",
        "recipientAccountId",
        "requestParameters",
        "userIdentity",
        "eventID",
    ]
)
EVENTS = st.one_of(
    st.builds(
        _cloudtrail,
        st.dictionaries(
            EVENT_FIELDS, st.one_of(JSON_LEAVES, DEEP, st.dictionaries(TEXT, TEXT, max_size=3)), max_size=3
        ),
        st.dictionaries(
            st.sampled_from(["source", "detail-type", "time", "id", "detail"]), JSON_LEAVES, max_size=2
        ),
    ),
    DEEP,
    st.just({"restorewatch": "sweep", "extra": 1}),
    st.builds(lambda t: {"detail-type": "Scheduled Event", "source": "aws.events", "time": t}, TEXT),
)
SQS_BODIES = st.one_of(
    EVENTS.map(json.dumps), TEXT, st.binary(max_size=40).map(lambda b: b.decode("latin-1"))
)


# --- poison: input no parser should choke on (issue 10, item 4) -----------------------------------------
# A JSON integer of more than 4,300 digits makes json.loads raise ValueError (Python's integer string
# conversion limit, https://docs.python.org/3/library/stdtypes.html#int-max-str-digits); nesting
# deeper than the interpreter's recursion limit makes it raise RecursionError.
HUGE_INTEGER_TEXT = st.integers(4301, 20_000).map(lambda digits: "9" * digits)
DEEP_NESTING_DEPTH = st.one_of(st.integers(900, 5000), st.just(100_000))


def _nested_text(depth: int, opener: str) -> str:
    closer = "]" if opener == "[" else "}"
    inner = '{"a":' * depth if opener == "{" else "[" * depth
    return inner + "1" + closer * depth


def _nested_list(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _event_with_text(field: str, text: str) -> str:
    """A CloudTrail IAM event as JSON text whose ``field`` (inside ``detail``) is ``text``."""
    event = _cloudtrail({field: "__POISON__"}, {})
    return json.dumps(event).replace('"__POISON__"', text)


POISON_SQS_BODIES = st.one_of(
    HUGE_INTEGER_TEXT,
    st.builds(_event_with_text, EVENT_FIELDS, HUGE_INTEGER_TEXT),
    st.builds(_nested_text, DEEP_NESTING_DEPTH, st.sampled_from(["[", "{"])),
    st.builds(
        _event_with_text,
        EVENT_FIELDS,
        st.builds(_nested_text, DEEP_NESTING_DEPTH, st.sampled_from(["[", "{"])),
    ),
)
# direct invocations arrive as Python values: a huge int and a deep structure in any detail field
POISON_EVENTS = st.builds(
    _cloudtrail,
    st.dictionaries(
        EVENT_FIELDS,
        st.one_of(
            st.integers(4301, 20_000).map(lambda digits: 10**digits - 1),
            DEEP_NESTING_DEPTH.map(_nested_list),
        ),
        min_size=1,
        max_size=2,
    ),
    st.just({}),
)
