"""Condition blocks: every documented operator, ``...IfExists``, ``ForAllValues:``/``ForAnyValue:``.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html

Operators live in one table (``_OPERATORS``); ``IfExists``, negation and the set qualifiers are
applied generically in ``ConditionEntry.evaluate``. Values are validated when the policy is parsed,
so an invalid IP range or date is reported as a malformed policy, not silently never matched.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from restorewatch.engine.patterns import compile_wildcard
from restorewatch.engine.variables import Context, RenderedPiece, Template, parse_template

# Keys whose value the principal itself decides (spec: "principal-derived").
PRINCIPAL_KEYS = frozenset(
    {"aws:username", "aws:userid", "aws:principalarn", "aws:principalaccount", "aws:principaltype"}
)
PRINCIPAL_TAG_PREFIX = "aws:principaltag/"


def is_principal_key(key: str) -> bool:
    """``key`` lower-cased."""
    return key in PRINCIPAL_KEYS or key.startswith(PRINCIPAL_TAG_PREFIX)


class ConditionSyntaxError(ValueError):
    """Raised while parsing; the parser wraps it into a MalformedPolicyError naming the policy."""


# ---- value parsing -------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _parse_number(text: str) -> float | None:
    text = text.strip()
    return float(text) if _NUMBER.match(text) else None


def _parse_date(text: str) -> datetime | None:
    text = text.strip()
    if _NUMBER.match(text):  # epoch seconds
        try:
            return datetime.fromtimestamp(float(text), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    try:
        if "/" in text:  # a request value given as a one-address CIDR
            network = ipaddress.ip_network(text, strict=False)
            return network.network_address if network.num_addresses == 1 else None
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _split_arn(text: str) -> list[str] | None:
    parts = text.split(":", 5)
    return parts if len(parts) == 6 else None


# ---- the operator table ----------------------------------------------------------------------------
# Each comparator receives (request value, compiled policy value, context) and answers the positive
# (non-negated) question. Compiled policy values come from the operator's ``compile`` function.

Compiled = object
Comparator = Callable[[str, Compiled, Context], bool]


@dataclass(frozen=True, slots=True)
class _Operator:
    family: str
    compile: Callable[[str, bool], Compiled]  # (policy value, substitute variables) -> compiled
    compare: Comparator
    negated: bool = False
    variables: bool = False  # policy variables allowed in values (string and ARN families)


def _compile_template(value: str, substitute: bool) -> Template:
    return parse_template(value, substitute=substitute)


def _string_equals(request: str, template: Compiled, context: Context) -> bool:
    assert isinstance(template, Template)
    text = template.render_text(context)
    return text is not None and text == request


def _string_equals_ignore_case(request: str, template: Compiled, context: Context) -> bool:
    assert isinstance(template, Template)
    text = template.render_text(context)
    return text is not None and text.casefold() == request.casefold()


def _string_like(request: str, template: Compiled, context: Context) -> bool:
    assert isinstance(template, Template)
    pieces = template.render(context)
    return pieces is not None and compile_wildcard(pieces, True).matches(request)


def _split_arn_pieces(pieces: tuple[RenderedPiece, ...]) -> list[tuple[RenderedPiece, ...]] | None:
    """``_split_arn`` over rendered pieces: each part keeps which of its text came from a variable."""
    parts: list[list[RenderedPiece]] = [[]]
    for piece, literal in pieces:
        text = piece
        while len(parts) < 6 and ":" in text:
            before, _, text = text.partition(":")
            parts[-1].append((before, literal))
            parts.append([])
        parts[-1].append((text, literal))
    return [tuple(part) for part in parts] if len(parts) == 6 else None


def _arn_like(request: str, template: Compiled, context: Context) -> bool:
    """Each of the six colon-separated ARN parts is matched on its own, case-sensitively."""
    assert isinstance(template, Template)
    pieces = template.render(context)
    if pieces is None:
        return False
    policy_parts = _split_arn_pieces(pieces)
    if policy_parts is None:
        # "*" (or another pattern with fewer parts) matches the whole value as a wildcard
        return compile_wildcard(pieces, True).matches(request)
    request_parts = _split_arn(request)
    if request_parts is None:
        return False
    return all(
        compile_wildcard(policy, True).matches(value)
        for policy, value in zip(policy_parts, request_parts, strict=True)
    )


def _compile_number(value: str, _substitute: bool) -> Compiled:
    number = _parse_number(value)
    if number is None:
        raise ConditionSyntaxError(f"{value!r} is not a number")
    return number


def _numeric(test: Callable[[float, float], bool]) -> Comparator:
    def compare(request: str, policy: Compiled, _context: Context) -> bool:
        number = _parse_number(request)
        assert isinstance(policy, float)
        return number is not None and test(number, policy)

    return compare


def _compile_date(value: str, _substitute: bool) -> Compiled:
    date = _parse_date(value)
    if date is None:
        raise ConditionSyntaxError(f"{value!r} is not a date (ISO 8601 or epoch seconds)")
    return date


def _date(test: Callable[[datetime, datetime], bool]) -> Comparator:
    def compare(request: str, policy: Compiled, _context: Context) -> bool:
        date = _parse_date(request)
        assert isinstance(policy, datetime)
        return date is not None and test(date, policy)

    return compare


def _compile_bool(value: str, _substitute: bool) -> Compiled:
    return value.strip().lower()


def _bool(request: str, policy: Compiled, _context: Context) -> bool:
    return request.strip().lower() == policy


def _compile_binary(value: str, _substitute: bool) -> Compiled:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ConditionSyntaxError(f"{value!r} is not base64") from None


def _binary(request: str, policy: Compiled, _context: Context) -> bool:
    try:
        return base64.b64decode(request, validate=True) == policy
    except (binascii.Error, ValueError):
        return False


def _compile_ip(value: str, _substitute: bool) -> Compiled:
    network = _parse_network(value)
    if network is None:
        raise ConditionSyntaxError(f"{value!r} is not an IPv4 or IPv6 address or CIDR range")
    return network


def _ip(request: str, policy: Compiled, _context: Context) -> bool:
    address = _parse_address(request)
    assert isinstance(policy, ipaddress.IPv4Network | ipaddress.IPv6Network)
    return address is not None and address.version == policy.version and address in policy


def _compile_null(value: str, _substitute: bool) -> Compiled:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise ConditionSyntaxError(f"Null takes 'true' or 'false', not {value!r}")
    return lowered == "true"


def _never(_request: str, _policy: Compiled, _context: Context) -> bool:  # Null is handled apart
    return False


def _string_op(compare: Comparator, negated: bool = False) -> _Operator:
    return _Operator("string", _compile_template, compare, negated, variables=True)


_OPERATORS: dict[str, _Operator] = {
    "StringEquals": _string_op(_string_equals),
    "StringNotEquals": _string_op(_string_equals, negated=True),
    "StringEqualsIgnoreCase": _string_op(_string_equals_ignore_case),
    "StringNotEqualsIgnoreCase": _string_op(_string_equals_ignore_case, negated=True),
    "StringLike": _string_op(_string_like),
    "StringNotLike": _string_op(_string_like, negated=True),
    "NumericEquals": _Operator("numeric", _compile_number, _numeric(lambda a, b: a == b)),
    "NumericNotEquals": _Operator("numeric", _compile_number, _numeric(lambda a, b: a == b), True),
    "NumericLessThan": _Operator("numeric", _compile_number, _numeric(lambda a, b: a < b)),
    "NumericLessThanEquals": _Operator("numeric", _compile_number, _numeric(lambda a, b: a <= b)),
    "NumericGreaterThan": _Operator("numeric", _compile_number, _numeric(lambda a, b: a > b)),
    "NumericGreaterThanEquals": _Operator("numeric", _compile_number, _numeric(lambda a, b: a >= b)),
    "DateEquals": _Operator("date", _compile_date, _date(lambda a, b: a == b)),
    "DateNotEquals": _Operator("date", _compile_date, _date(lambda a, b: a == b), True),
    "DateLessThan": _Operator("date", _compile_date, _date(lambda a, b: a < b)),
    "DateLessThanEquals": _Operator("date", _compile_date, _date(lambda a, b: a <= b)),
    "DateGreaterThan": _Operator("date", _compile_date, _date(lambda a, b: a > b)),
    "DateGreaterThanEquals": _Operator("date", _compile_date, _date(lambda a, b: a >= b)),
    "Bool": _Operator("bool", _compile_bool, _bool),
    "BinaryEquals": _Operator("binary", _compile_binary, _binary),
    "IpAddress": _Operator("ip", _compile_ip, _ip),
    "NotIpAddress": _Operator("ip", _compile_ip, _ip, True),
    "ArnEquals": _Operator("arn", _compile_template, _arn_like, variables=True),
    "ArnLike": _Operator("arn", _compile_template, _arn_like, variables=True),
    "ArnNotEquals": _Operator("arn", _compile_template, _arn_like, True, variables=True),
    "ArnNotLike": _Operator("arn", _compile_template, _arn_like, True, variables=True),
    "Null": _Operator("null", _compile_null, _never),
}
_OPERATORS_LOWER = {name.lower(): name for name in _OPERATORS}

QUALIFIERS = ("ForAllValues", "ForAnyValue")


@dataclass(frozen=True, slots=True)
class ConditionEntry:
    """One (operator, key) pair of a Condition block with its ORed values."""

    operator: str  # as written in the policy
    key: str  # as written in the policy
    key_lower: str
    base: str  # canonical operator name without qualifier or IfExists
    qualifier: str  # "", "ForAllValues" or "ForAnyValue"
    if_exists: bool
    values: tuple[str, ...]
    _compiled: tuple[Compiled, ...] = field(repr=False, compare=False)
    variable_keys: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def negated(self) -> bool:
        return _OPERATORS[self.base].negated

    @property
    def principal_derived(self) -> bool:
        """Decided by the principal alone: the key and every variable in the values are its own."""
        return is_principal_key(self.key_lower) and all(is_principal_key(k) for k in self.variable_keys)

    def evaluate(self, context: Context) -> bool:
        """``context`` keys must be lower-cased."""
        raw = context.get(self.key_lower)
        values: list[str] = [] if raw is None else [raw] if isinstance(raw, str) else list(raw)
        if self.base == "Null":
            absent = not values
            return any(expect_absent == absent for expect_absent in self._compiled)
        operator = _OPERATORS[self.base]
        if self.qualifier == "ForAllValues":
            return all(self._single(operator, value, context) for value in values)
        if self.qualifier == "ForAnyValue":
            return any(self._single(operator, value, context) for value in values)
        if not values:
            return self.if_exists or operator.negated
        matched = any(self._positive(operator, value, context) for value in values)
        return not matched if operator.negated else matched

    def _positive(self, operator: _Operator, value: str, context: Context) -> bool:
        return any(operator.compare(value, compiled, context) for compiled in self._compiled)

    def _single(self, operator: _Operator, value: str, context: Context) -> bool:
        matched = self._positive(operator, value, context)
        return not matched if operator.negated else matched


def _split_operator(operator: str) -> tuple[str, str, bool]:
    qualifier, sep, rest = operator.partition(":")
    if not sep:
        qualifier, rest = "", operator
    elif qualifier.lower() not in {q.lower() for q in QUALIFIERS}:
        raise ConditionSyntaxError(f"unknown set qualifier {qualifier!r} in {operator!r}")
    else:
        qualifier = next(q for q in QUALIFIERS if q.lower() == qualifier.lower())
    if_exists = rest.lower().endswith("ifexists")
    name = rest[: -len("IfExists")] if if_exists else rest
    canonical = _OPERATORS_LOWER.get(name.lower())
    if canonical is None:
        raise ConditionSyntaxError(f"unknown condition operator {operator!r}")
    if canonical == "Null" and (if_exists or qualifier):
        raise ConditionSyntaxError(f"{operator!r}: Null takes neither IfExists nor a set qualifier")
    return canonical, qualifier, if_exists


def _value_text(value: object, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    raise ConditionSyntaxError(f"{where}: condition values must be strings, numbers or booleans")


def parse_condition_block(block: object, *, substitute_variables: bool) -> tuple[ConditionEntry, ...]:
    if not isinstance(block, Mapping):
        raise ConditionSyntaxError("Condition must be an object of operators")
    entries: list[ConditionEntry] = []
    for operator, keys in block.items():
        if not isinstance(operator, str):
            raise ConditionSyntaxError("condition operators must be strings")
        base, qualifier, if_exists = _split_operator(operator)
        spec = _OPERATORS[base]
        if not isinstance(keys, Mapping) or not keys:
            raise ConditionSyntaxError(f"{operator}: expected an object of condition keys")
        for key, raw_values in keys.items():
            where = f"{operator} {key}"
            if not isinstance(key, str) or not key:
                raise ConditionSyntaxError(f"{operator}: condition keys must be non-empty strings")
            items = raw_values if isinstance(raw_values, list) else [raw_values]
            if not items:
                raise ConditionSyntaxError(f"{where}: no values")
            texts = tuple(_value_text(item, where) for item in items)
            substitute = substitute_variables and spec.variables
            try:
                compiled = tuple(spec.compile(text, substitute) for text in texts)
            except ConditionSyntaxError as error:
                raise ConditionSyntaxError(f"{where}: {error}") from None
            variable_keys = frozenset(
                part.key
                for template in compiled
                if isinstance(template, Template)
                for part in template.parts
                if not isinstance(part, str)
            )
            entries.append(
                ConditionEntry(
                    operator, key, key.lower(), base, qualifier, if_exists, texts, compiled, variable_keys
                )
            )
    return tuple(entries)
