"""``make sam-local``: the real ``sam local invoke`` of what ``sam build`` built, in Docker, on moto's server.

It builds the stack with ``sam build`` (the layer's arm64 wheels included), starts moto's server
and a Slack stand-in where the function's container reaches them, creates the stack's resources
with ``restorewatch local up`` (which also writes the ``--env-vars`` file), seeds a tagged restore
role, detaches its restore policy (the IAM change ``make demo`` makes first), and runs::

    sam local invoke WatcherFunction -e <the DetachRolePolicy event> --env-vars ... --invoke-image ...
    sam local invoke SlackFunction  -e <the SNS notification that arrived> --env-vars ...

It prints the alert that arrives on the alert topic and the message the Slack function posted, as
``make demo`` does, and fails when either does not arrive. The functions are arm64: on an x86_64
machine they run under QEMU, which is slow (minutes, most of it Python's start-up), so the account
is tiny and the watcher checks one change, not a sweep. The baseline (the role's compliant state)
is recorded first with the Docker-free ``restorewatch local invoke``.

Needs: Docker's engine, a Python 3.13 with pip (``SAM_PYTHON``; ``sam build`` runs with it first
on PATH), the SAM CLI (``SAM_CLI``), QEMU's binfmt registration for arm64 on other machines, and
root for the first build of the Lambda base image (``restorewatch_cli.local.lambda_image``), unless
``--invoke-image aws`` lets SAM pull AWS's own image (internet access needed).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restorewatch.errors import InputError, RestoreWatchError

ACCOUNT = "111122223333"
ROLE = "VeeamRestoreRole"
WATCHER = "WatcherFunction"
SLACK = "SlackFunction"
CHANGE_SAMPLE = "events/iam-DetachRolePolicy.json"
SWEEP_SAMPLE = "events/scheduled-sweep.json"
SNS_SAMPLE = "events/slack/sns-alert.json"
if TYPE_CHECKING:
    from restorewatch_cli.demo import Demo

BUILD_DIR = Path(".aws-sam/sam-local")  # beside `sam build`'s own .aws-sam/build, never in place of it
INVOKE_TIMEOUT = 900.0  # s: the functions' own timeout is 600 s; SAM adds its image build
NO_RESPONSE = "No response from invoke container"
NO_RESPONSE_HINT = (
    "SAM gave up before the function's runtime emulator listened. Under QEMU it starts slowly, and "
    "Docker's userland proxy accepts SAM's connection before it does, so SAM's wait for the container "
    'is cut short: run dockerd with --userland-proxy=false ("userland-proxy": false in '
    "/etc/docker/daemon.json), as .ci/run does."
)


class SamLocalError(RestoreWatchError):
    """A step of the run failed; the message says which and shows the tool's output."""


@dataclass(frozen=True, slots=True)
class SamLocalSettings:
    root: Path
    sam: str  # the SAM CLI
    python: str  # Python 3.13 with pip: first on PATH for `sam build`, and builds the base image
    invoke_image: str = "local"  # "local": built here; "aws": SAM pulls AWS's image; else an image name
    architecture: str = "arm64"

    @classmethod
    def from_environment(cls, root: Path, invoke_image: str = "local") -> SamLocalSettings:
        sam = os.environ.get("SAM_CLI") or shutil.which("sam") or str(Path.home() / ".local/bin/sam")
        python = os.environ.get("SAM_PYTHON") or shutil.which("python3.13") or ""
        return cls(root=root, sam=sam, python=python, invoke_image=invoke_image)

    @property
    def build_dir(self) -> Path:
        return self.root / BUILD_DIR / "build"

    def problems(self) -> list[str]:
        """What is missing for a run, in words a person can act on (empty: ready)."""
        from restorewatch_cli.local.docker_engine import docker_problem
        from restorewatch_cli.local.lambda_image import LambdaImage, emulation_problem, image_available

        found = []
        if not (Path(self.sam).is_file() and os.access(self.sam, os.X_OK)):
            found.append(f"the SAM CLI is not at {self.sam} (make sam-install; or set SAM_CLI)")
        if not self.python or not Path(self.python).is_file():
            found.append("no Python 3.13 for `sam build` (pyenv install 3.13; or set SAM_PYTHON)")
        docker = docker_problem()
        if docker:
            found.append(docker)
        image = LambdaImage(self.architecture)
        emulation = emulation_problem(image)
        if emulation:
            found.append(emulation)
        if self.invoke_image == "local" and not docker and not image_available(image) and os.geteuid() != 0:
            found.append(f"the Lambda base image {image.tag} is not built yet, and building it needs root")
        return found


@dataclass(slots=True)
class SamLocalOutcome:
    watcher_result: Any = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    slack_result: Any = None
    slack_posts: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def delivered(self) -> bool:
        return bool(self.alerts) and bool(self.slack_posts)


def run(settings: SamLocalSettings) -> SamLocalOutcome:
    from restorewatch_cli.local.docker_engine import bridge_address

    outcome = SamLocalOutcome()
    clock = _Clock(outcome.seconds)
    problems = settings.problems()
    if problems:
        raise SamLocalError("cannot run `sam local invoke` here:\n  " + "\n  ".join(problems))
    image = _invoke_image(settings)
    clock.lap("image")
    _sam_build(settings)
    clock.lap("sam build")
    before = _sam_images()
    try:
        with tempfile.TemporaryDirectory(prefix="restorewatch-sam-local-") as workdir:
            _Invocations(settings, image, Path(workdir), outcome, clock).run(bridge_address())
    finally:
        _remove_new_sam_images(before)
    steps = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in outcome.seconds.items())
    print(f"\nsam-local steps: {steps}")
    return outcome


class _Invocations:
    """The account, the stack's resources and the two invocations, on services this run starts."""

    def __init__(
        self,
        settings: SamLocalSettings,
        image: str | None,
        workdir: Path,
        outcome: SamLocalOutcome,
        clock: _Clock,
    ) -> None:
        self.settings = settings
        self.image = image
        self.workdir = workdir
        self.outcome = outcome
        self.clock = clock
        self.env_vars = workdir / "env-vars.json"

    def run(self, host: str) -> None:
        from restorewatch_cli.demo import Demo
        from restorewatch_cli.local.moto_server import moto_server
        from restorewatch_cli.local.slack_stand_in import slack_stand_in

        server_env = {"MOTO_ACCOUNT_ID": ACCOUNT, "MOTO_IAM_LOAD_MANAGED_POLICIES": "false"}
        with moto_server(server_env, host=host) as endpoint, slack_stand_in(host) as slack:
            print(f"moto's server stands in for AWS at {endpoint} (this machine, on Docker's bridge)")
            print(f"A Slack incoming-webhook stand-in listens at {slack.url}")
            demo = Demo(self.settings.root, endpoint, self.workdir)
            demo.seed()
            demo.up(options=("--slack-webhook-url", slack.url, "--env-vars", str(self.env_vars)))
            print(f"`restorewatch local up` wrote the --env-vars file {self.env_vars}:")
            print("\n".join(f"  {line}" for line in self.env_vars.read_text().splitlines()))
            self.baseline(demo)
            notifications = self.watcher(demo)
            if notifications:
                self.slack(notifications[0], slack.payloads)

    def baseline(self, demo: Demo) -> None:
        from restorewatch_cli.local.up import read_alerts

        print(f"\n== Baseline: {ROLE} is compliant (recorded by the Docker-free `restorewatch local invoke`)")
        demo.invoke(json.loads((self.settings.root / SWEEP_SAMPLE).read_text()))
        assert demo.inbox is not None
        alerts = read_alerts(demo.inbox, demo.endpoint, wait_seconds=0)
        if alerts:
            kinds = [alert.get("kind") for alert in alerts]
            raise SamLocalError(f"the baseline sweep alerted ({kinds}): the seeded account is not compliant")
        self.clock.lap("moto, local up, baseline")

    def watcher(self, demo: Demo) -> list[dict[str, Any]]:
        from restorewatch_cli.demo import print_alert
        from restorewatch_cli.local.up import read_notifications

        print(f"\n== Someone detaches {demo.policy_arn} from role {ROLE}; sam local invoke {WATCHER}")
        demo.iam.detach_role_policy(RoleName=ROLE, PolicyArn=demo.policy_arn)
        event = demo.event("DetachRolePolicy", {"roleName": ROLE, "policyArn": demo.policy_arn})
        self.outcome.watcher_result = self.invoke(WATCHER, event)
        self.clock.lap(f"sam local invoke {WATCHER}")
        assert demo.inbox is not None
        notifications = read_notifications(demo.inbox, demo.endpoint, wait_seconds=1)
        self.outcome.alerts = [json.loads(notification["Message"]) for notification in notifications]
        if not self.outcome.alerts:
            print("  (no alert arrived on the alert topic)")
        for alert in self.outcome.alerts:
            print_alert(alert)
        return notifications

    def slack(self, notification: dict[str, Any], posted: list[dict[str, Any]]) -> None:
        from restorewatch_cli.demo import print_slack_post

        print(f"\n== sam local invoke {SLACK} with the SNS notification that arrived")
        self.outcome.slack_result = self.invoke(SLACK, sns_event_for(notification, self.settings.root))
        self.clock.lap(f"sam local invoke {SLACK}")
        self.outcome.slack_posts = list(posted)
        if not posted:
            print("  (nothing arrived at the Slack stand-in)")
        for payload in posted:
            print_slack_post(payload)

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        event_file = self.workdir / f"{function}-event.json"
        event_file.write_text(json.dumps(event, indent=2))
        return _sam_invoke(self.settings, function, event_file, self.env_vars, self.image)


def sns_event_for(notification: dict[str, Any], root: Path) -> dict[str, Any]:
    """The event Lambda gives a function subscribed to the topic, for this notification (from the
    sample ``events/slack/sns-alert.json``, as ``sam local invoke -e`` takes it)."""
    event: dict[str, Any] = copy.deepcopy(json.loads((root / SNS_SAMPLE).read_text()))
    record = event["Records"][0]
    topic = notification.get("TopicArn") or record["Sns"]["TopicArn"]
    record["EventSubscriptionArn"] = f"{topic}:{uuid.uuid4()}"
    record["Sns"].update(
        {
            key: notification[key]
            for key in ("MessageId", "TopicArn", "Subject", "Message", "Timestamp", "MessageAttributes")
            if key in notification
        }
    )
    return event


def _invoke_image(settings: SamLocalSettings) -> str | None:
    from restorewatch_cli.local.lambda_image import LambdaImage, ensure_image

    if settings.invoke_image == "aws":
        return None  # SAM pulls public.ecr.aws/lambda/python:3.13
    if settings.invoke_image != "local":
        return settings.invoke_image
    return ensure_image(LambdaImage(settings.architecture), python=settings.python)


def _tool_environment(settings: SamLocalSettings) -> dict[str, str]:
    environment = dict(os.environ)
    # sam build's python3.13 workflow runs the first python3.13 on PATH (with pip)
    environment["PATH"] = f"{Path(settings.python).parent}{os.pathsep}{environment.get('PATH', '')}"
    environment["SAM_CLI_TELEMETRY"] = "0"
    return environment


def _sam_build(settings: SamLocalSettings) -> None:
    build_root = settings.build_dir.parent
    command = [
        settings.sam, "build", "--cached",
        "--build-dir", str(settings.build_dir), "--cache-dir", str(build_root / "cache"),
    ]  # fmt: skip
    print(f"$ sam build --cached --build-dir {settings.build_dir.relative_to(settings.root)}")
    done = subprocess.run(
        command, cwd=settings.root, env=_tool_environment(settings),
        capture_output=True, text=True, timeout=INVOKE_TIMEOUT, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SamLocalError(f"sam build failed (exit {done.returncode}):\n{_tail(done.stdout + done.stderr)}")
    # Bytecode for the built code, by this machine's Python 3.13 (bytecode has no architecture): a
    # cache Python would otherwise fill under QEMU at every invocation. The sources are untouched.
    subprocess.run(
        [settings.python, "-m", "compileall", "-q", "-j", "0", str(settings.build_dir)],
        capture_output=True, check=False,
    )  # fmt: skip


def _sam_invoke(
    settings: SamLocalSettings, function: str, event_file: Path, env_vars: Path, image: str | None
) -> Any:
    command = [
        settings.sam, "local", "invoke", function,
        "--template", str(settings.build_dir / "template.yaml"),
        "--event", str(event_file), "--env-vars", str(env_vars), "--region", "us-east-1",
    ]  # fmt: skip
    if image is not None:
        command += ["--invoke-image", image, "--skip-pull-image"]
    shown = " ".join(part if part != settings.sam else "sam" for part in command)
    print(f"$ {shown}")
    started = time.monotonic()
    code, stdout, stderr = _run_sam(command, settings)
    print(f"  (sam local invoke {function}: exit {code} in {time.monotonic() - started:.0f} s)")
    result = _function_result(stdout)
    failed = isinstance(result, dict) and "errorType" in result
    if code != 0 or result is None or failed:
        hint = f"\n{NO_RESPONSE_HINT}" if NO_RESPONSE in stderr else ""
        raise SamLocalError(
            f"sam local invoke {function} failed (exit {code}); the function returned "
            f"{json.dumps(result)}\n--- sam's log ---\n{_tail(stderr)}{hint}"
        )
    print(f"  the function returned {json.dumps(result, sort_keys=True)}")
    return result


def _run_sam(command: list[str], settings: SamLocalSettings) -> tuple[int, str, str]:
    """Run SAM; stop it at once when it reports that the container never answered (it would
    otherwise wait out the function's whole timeout)."""
    process = subprocess.Popen(
        command, cwd=settings.root, env=_tool_environment(settings),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    stdout: list[str] = []
    reader = threading.Thread(target=lambda: stdout.extend(process.stdout or ()), daemon=True)
    reader.start()
    stderr: list[str] = []
    timer = threading.Timer(INVOKE_TIMEOUT, process.kill)
    timer.start()
    try:
        for line in process.stderr or ():
            stderr.append(line)
            if NO_RESPONSE in line:
                process.terminate()
                break
        code = process.wait()
    finally:
        timer.cancel()
        reader.join(timeout=10)
        # a SAM stopped early leaves its container behind; one that finished has removed it
        containers = [
            line.split(":", 1)[1].strip() for line in stderr if line.startswith("SAM_CONTAINER_ID:")
        ]
        if containers:
            subprocess.run(["docker", "rm", "--force", *containers], capture_output=True, check=False)
    if code == -signal.SIGKILL:
        raise SamLocalError(f"sam local invoke did not finish in {INVOKE_TIMEOUT:.0f} s")
    return code, "".join(stdout), "".join(stderr)


def _function_result(stdout: str) -> Any:
    """The function's response: SAM prints it as the last line of its standard output."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None


def _sam_images() -> set[str]:
    """Image ids SAM builds on top of the base image (its emulator and the layers)."""
    listed = subprocess.run(
        ["docker", "images", "--quiet", "--no-trunc", "--filter", "dangling=true"],
        capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    listed += subprocess.run(
        ["docker", "images", "--quiet", "--no-trunc", "samcli/lambda-python"],
        capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    return set(listed)


def _remove_new_sam_images(before: set[str]) -> None:
    # SAM rebuilds its image at every invocation of a function with a layer of the template (and
    # leaves the previous build dangling): the images this run added go, the base image stays.
    added = sorted(_sam_images() - before)
    if added:
        subprocess.run(["docker", "rmi", "--force", *added], capture_output=True, check=False)


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


class _Clock:
    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds
        self.last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = round(now - self.last, 1)
        self.last = now


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="restorewatch-sam-local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="the repository (template.yaml, events/)")
    parser.add_argument(
        "--invoke-image",
        default="local",
        help="'local' (default): a Lambda base image built here; 'aws': AWS's own image (SAM pulls "
        "it; internet needed); or an image name",
    )
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    # moto accepts any credentials; fixed ones keep a developer's real keys and profiles out of it
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo", AWS_DEFAULT_REGION="us-east-1")
    started = time.monotonic()
    try:
        outcome = run(SamLocalSettings.from_environment(root, args.invoke_image))
    except (InputError, SamLocalError) as error:
        print(f"restorewatch sam-local: {error}", file=sys.stderr)
        return 1
    print(f"sam-local finished in {time.monotonic() - started:.0f} s.")
    if not outcome.delivered:
        print("sam-local: FAILED: no alert arrived (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
