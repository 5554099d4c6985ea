"""``restorewatch local up`` and ``restorewatch local invoke``: the stack on moto's server, no Docker.

``up`` creates the runtime resources ``template.yaml`` declares (table, topic, queues) on an
endpoint and prints their physical ids and each function's resolved environment (``--env-vars FILE``
also writes it as the ``--env-vars`` file of the real ``sam local invoke``); ``invoke`` runs a
function's handler in this process with that environment, like ``sam local invoke -e EVENT``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from restorewatch.errors import InputError
from restorewatch_cli.inputs import read_json

if TYPE_CHECKING:
    import argparse

    from restorewatch_cli.app import Subparsers


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("local", help="run the stack's functions against a local endpoint")
    commands = parser.add_subparsers(dest="local_command", metavar="COMMAND", required=True)

    up = commands.add_parser("up", help="create the template's table, topic and queues on the endpoint")
    _common(up)
    up.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a template parameter (repeatable)",
    )
    up.add_argument(
        "--slack-webhook-url",
        metavar="URL",
        help="create a secret holding this webhook URL on the endpoint and enable the Slack function",
    )
    up.add_argument(
        "--env-vars",
        metavar="FILE",
        help="write the functions' environment as the --env-vars file of `sam local invoke`",
    )
    up.add_argument(
        "--function-endpoint-url",
        metavar="URL",
        help="the endpoint as the functions' containers reach it, for --env-vars (default: --endpoint-url)",
    )
    up.add_argument("--format", choices=("text", "json"), default="text")
    up.set_defaults(handler=run_up)

    invoke = commands.add_parser("invoke", help="run a function's handler with an event file")
    invoke.add_argument("function", nargs="?", help="logical id in the template (default: WatcherFunction)")
    invoke.add_argument(
        "-e", "--event", required=True, metavar="EVENT_FILE", help="the event JSON ('-': stdin)"
    )
    _common(invoke)
    invoke.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override an environment variable of the function (repeatable)",
    )
    invoke.set_defaults(handler=run_invoke)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-url", required=True, metavar="URL", help="e.g. moto's server")
    parser.add_argument(
        "--template",
        "-t",
        default="template.yaml",
        metavar="FILE",
        help="the SAM template (default: ./template.yaml)",
    )


def _pairs(values: list[str], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise InputError(f"{option} {value!r} is not KEY=VALUE")
        pairs[key] = rest
    return pairs


def run_up(args: argparse.Namespace) -> int:
    from restorewatch_cli.local.up import local_up, sam_env_vars

    environment = local_up(
        Path(args.template),
        args.endpoint_url,
        _pairs(args.parameter, "--parameter"),
        slack_webhook_url=args.slack_webhook_url,
    )
    if args.env_vars:
        env_vars = sam_env_vars(environment, args.function_endpoint_url)
        target = Path(args.env_vars)
        partial = target.with_name(f".{target.name}.partial")
        try:
            partial.write_text(json.dumps(env_vars, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            partial.replace(target)
        except OSError as error:
            raise InputError(f"cannot write the --env-vars file {target}: {error.strerror}") from None
        print(f"sam local invoke --env-vars file: {target}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(environment.as_dict(), indent=2, sort_keys=True))
        return 0
    print(f"Resources on {environment.endpoint_url} (account {environment.account}):")
    for logical_id, physical in sorted(environment.resources.items()):
        print(f"  {logical_id:<28} {physical}")
    print(f"  {'(alert inbox queue)':<28} {environment.inbox_queue_url}")
    for logical_id, variables in sorted(environment.functions.items()):
        print(f"Function {logical_id} environment:")
        for key, value in sorted(variables.items()):
            print(f"  {key}={value}")
    return 0


def run_invoke(args: argparse.Namespace) -> int:
    from restorewatch_cli.local.invoke import local_invoke

    if args.event == "-":
        try:
            event = json.loads(sys.stdin.read())
        except json.JSONDecodeError as exc:
            raise InputError(f"the event on stdin is not valid JSON: {exc.msg}") from None
    else:
        event = read_json(args.event, "event file")
    result = local_invoke(
        Path(args.template),
        event,
        args.endpoint_url,
        function=args.function,
        env_overrides=_pairs(args.env, "--env"),
    )
    print(json.dumps(result, indent=2, sort_keys=True, default=str))
    return 0
