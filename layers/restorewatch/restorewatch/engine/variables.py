"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'default'}``, ``${*}``.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html

Variables are only substituted in documents whose ``Version`` is ``2012-10-17``; in older documents
``${...}`` is literal text (the parser decides which). A substituted value is matched literally: a
``*`` inside a user name is not a wildcard. The special variables ``${*}``, ``${?}`` and ``${$}``
stand for the literal characters. A variable whose key has no value (and no default) makes the
value it sits in match nothing: AWS's "there is no equal or like value".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

ContextValue = str | list[str]
Context = Mapping[str, ContextValue]

# ${key} or ${key, 'default'}; keys are condition key names (letters, digits, : / _ - . etc.). A key
# never holds '{': excluding it stops a value full of '${' from being rescanned from each one.
_VARIABLE = re.compile(r"\$\{\s*([^{}'\s,]+)\s*(?:,\s*'([^']*)'\s*)?\}")
_SPECIALS = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True, slots=True)
class Variable:
    key: str  # lower-cased condition key name
    default: str | None


# A template is raw text (wildcards active) interleaved with variables.
TemplatePart = str | Variable
# A rendered piece: (text, literal). Literal pieces are matched character for character.
RenderedPiece = tuple[str, bool]


@dataclass(frozen=True, slots=True)
class Template:
    parts: tuple[TemplatePart, ...]

    @property
    def has_variables(self) -> bool:
        return any(isinstance(part, Variable) for part in self.parts)

    def render(self, context: Context) -> tuple[RenderedPiece, ...] | None:
        """The pieces with every variable resolved, or None when one has no value."""
        pieces: list[RenderedPiece] = []
        for part in self.parts:
            if isinstance(part, str):
                pieces.append((part, False))
                continue
            value = resolve(part, context)
            if value is None:
                return None
            pieces.append((value, True))
        return tuple(pieces)

    def render_text(self, context: Context) -> str | None:
        pieces = self.render(context)
        return None if pieces is None else "".join(text for text, _ in pieces)


def resolve(variable: Variable, context: Context) -> str | None:
    if variable.key in _SPECIALS:
        return _SPECIALS[variable.key]
    value = context.get(variable.key)
    # multivalued keys cannot be used as variables: AWS leaves them unresolved
    if isinstance(value, str):
        return value
    return variable.default


def parse_template(text: str, *, substitute: bool) -> Template:
    if not substitute or "${" not in text:
        return Template((text,))
    parts: list[TemplatePart] = []
    position = 0
    for match in _VARIABLE.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        parts.append(Variable(match.group(1).lower(), match.group(2)))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return Template(tuple(parts))
