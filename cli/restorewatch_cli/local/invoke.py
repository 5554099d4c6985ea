"""``restorewatch local invoke``: run a function's handler in this process, as ``sam local invoke`` would.

The handler gets the environment the template gives it (resolved against the local resources),
plus ``--env`` overrides, with every AWS client pointed at the endpoint. No Docker: the code runs
in this interpreter, which is why the handler is loaded from its file under a unique module name.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from restorewatch.errors import InputError
from restorewatch_cli.local.up import function_environment, open_stack

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

DEFAULT_FUNCTION = "WatcherFunction"


@dataclass(frozen=True, slots=True)
class LocalLambdaContext:
    """The context object Lambda passes to a handler (what Powertools reads from it)."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def local_invoke(
    template_path: Path,
    event: Any,
    endpoint_url: str,
    *,
    function: str | None = None,
    env_overrides: dict[str, str] | None = None,
) -> Any:
    stack = open_stack(template_path, endpoint_url)
    functions = stack.functions()
    logical_id = function or (
        DEFAULT_FUNCTION if DEFAULT_FUNCTION in functions else next(iter(functions), "")
    )
    if logical_id not in functions:
        known = ", ".join(sorted(functions)) or "none"
        raise InputError(f"no function {logical_id!r} in {template_path} (functions: {known})")
    spec = functions[logical_id]
    environment = function_environment(stack, logical_id, env_overrides or {})
    environment.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_DEFAULT_REGION": stack.region,
            "AWS_REGION": stack.region,
            "AWS_LAMBDA_FUNCTION_NAME": logical_id,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_DEV": environment.get("POWERTOOLS_DEV", "false"),
        }
    )
    module_file, _, handler_name = spec.handler.rpartition(".")
    code_dir = (template_path.parent / spec.code_uri).resolve()
    source = code_dir / f"{module_file.replace('.', '/')}.py"
    if not source.is_file():
        raise InputError(f"handler file {source} of {logical_id} does not exist")
    with _environment(environment):
        module_name = f"restorewatch_local_{logical_id}_{uuid.uuid4().hex[:8]}"
        module_spec = importlib.util.spec_from_file_location(module_name, source)
        if module_spec is None or module_spec.loader is None:
            raise InputError(f"cannot load {source}")
        module = importlib.util.module_from_spec(module_spec)
        sys.path.insert(0, str(code_dir))
        try:
            module_spec.loader.exec_module(module)
            handler = getattr(module, handler_name)
            context = LocalLambdaContext(function_name=logical_id, aws_request_id=str(uuid.uuid4()))
            return handler(event, context)
        finally:
            sys.path.remove(str(code_dir))
