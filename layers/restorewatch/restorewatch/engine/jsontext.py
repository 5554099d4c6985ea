"""JSON text into Python values, every way it can fail reported as one ``ValueError``.

``json.loads`` fails in three ways, and only one is a ``JSONDecodeError``: nesting deeper than the
interpreter's recursion limit raises ``RecursionError``, and an integer of more digits than
``sys.get_int_max_str_digits()`` raises a plain ``ValueError``. Input that anyone can write (a
policy document, an auth-details file, a profile) must fail as bad input whichever it is.
"""

from __future__ import annotations

import json
import sys

__all__ = ["load_json"]


def load_json(text: str | bytes) -> object:
    """``json.loads(text)``; raises ``ValueError`` whose message says why, in a few words."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{error.msg} at line {error.lineno} column {error.colno}") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError:
        # the only other ValueError json raises: int() refusing a number too long to convert
        raise ValueError(f"a number has more than {sys.get_int_max_str_digits()} digits") from None
