"""The Lambda layer ships only what the functions run: no command line, demo or local runner.

The layer's content root (template.yaml, ``RestoreWatchLayer.ContentUri``) is copied whole by
``sam build`` (its python3.13 build method copies the directory and pip-installs its
requirements.txt): whatever sits under it is deployed. The CLI-only code lives in a second package,
``restorewatch_cli`` (cli/), which depends on ``restorewatch`` and never the reverse. These tests
copy the layer's content root as ``sam build`` would and import both functions' handlers, and every
module of the layer, in a fresh interpreter that sees only that copy and the third-party packages
(not the project's editable install, which also finds ``restorewatch_cli``).
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/building-layers.html
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import sysconfig
from typing import TYPE_CHECKING

import pytest

from support.layer import CLI_ONLY, CLI_PACKAGE, cli_only_paths
from support.template import REPO_ROOT, load_template, resources_of_type

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow  # copies the layer and imports every module in a fresh interpreter


# A fresh interpreter without site (no .pth file runs, so the editable install's finder is absent):
# sys.path is the layer copy, the function's own directory, then the venv's third-party packages.
_PROBE = """
import importlib, importlib.util, json, pkgutil, sys
layer, function_dirs, site = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
sys.path[:0] = [layer]
sys.path.append(site)
import restorewatch
found = [m.name for m in pkgutil.walk_packages(restorewatch.__path__, "restorewatch.")]
for name in found:
    importlib.import_module(name)
handlers = []
for directory in function_dirs:
    sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location("app_" + str(len(handlers)), directory + "/app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handlers.append(callable(module.lambda_handler))
    sys.path.remove(directory)
try:
    importlib.import_module("restorewatch_cli")
    cli = "importable"
except ModuleNotFoundError:
    cli = "absent"
print(json.dumps({
    "modules": found,
    "origin": restorewatch.__file__,
    "handlers": handlers,
    "cli": cli,
    "loaded_cli": sorted(m for m in sys.modules if m.split(".")[0] == "restorewatch_cli"),
    "loaded_stubs": sorted(m for m in sys.modules if m.startswith(("types_boto3", "mypy_boto3"))),
}))
"""


def _layer_root() -> Path:
    (layer,) = resources_of_type(load_template(), "AWS::Serverless::LayerVersion").values()
    return REPO_ROOT / str(layer["Properties"]["ContentUri"])


def _function_dirs() -> list[str]:
    functions = resources_of_type(load_template(), "AWS::Serverless::Function").values()
    return sorted(str(REPO_ROOT / str(f["Properties"]["CodeUri"])) for f in functions)


def _imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_layer_content_root_holds_no_cli_only_module() -> None:
    package = _layer_root() / "restorewatch"
    assert package.is_dir(), f"the layer's ContentUri {package.parent} has no restorewatch package"
    assert cli_only_paths(package) == []
    assert not (_layer_root() / CLI_PACKAGE).exists()


def test_layer_modules_import_nothing_of_the_cli() -> None:
    """Not even inside a function: the layer would fail at run time where the CLI is absent."""
    offenders = {}
    for path in sorted((_layer_root() / "restorewatch").rglob("*.py")):
        names = sorted(n for n in _imports_of(path) if n.split(".")[0] == CLI_PACKAGE)
        if names:
            offenders[str(path.relative_to(REPO_ROOT))] = names
    assert offenders == {}


def test_functions_and_every_layer_module_import_from_the_layer_alone(tmp_path: Path) -> None:
    """The layer copied as ``sam build`` copies it: both handlers import, every module of the layer
    imports, and ``restorewatch_cli`` is not there to be found (so nothing could lean on it)."""
    layer = tmp_path / "python"
    shutil.copytree(_layer_root(), layer, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    site = sysconfig.get_paths()["purelib"]
    result = subprocess.run(
        [sys.executable, "-S", "-c", _PROBE, str(layer), json.dumps(_function_dirs()), site],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["origin"].startswith(str(layer)), "the probe imported restorewatch from elsewhere"
    assert seen["cli"] == "absent"
    assert seen["loaded_cli"] == []
    assert seen["loaded_stubs"] == []  # the AWS client types are imported for type checking only
    assert seen["handlers"] == [True, True]
    assert "restorewatch.watch.events" in seen["modules"]
    assert [m for m in seen["modules"] if m.split(".")[1] in CLI_ONLY] == []


def test_cli_only_check_sees_a_cli_module(tmp_path: Path) -> None:
    """The content check can fail: a demo module dropped into a package copy is found."""
    package = tmp_path / "restorewatch"
    package.mkdir()
    (package / "demo.py").write_text("")
    (package / "engine").mkdir()
    (package / "local").mkdir()
    assert cli_only_paths(package) == ["demo.py", "local"]


@pytest.mark.parametrize("module", ["restorewatch_cli", "restorewatch_cli.demo", "restorewatch_cli.whatif"])
def test_cli_package_is_installed_beside_the_layer_package(module: str) -> None:
    """The project install (``make install``) still provides the command line."""
    __import__(module)
