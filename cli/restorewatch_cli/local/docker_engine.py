"""The Docker engine as ``sam local invoke`` uses it: is it there, and where do its containers reach us.

SAM CLI puts a function's container on Docker's default bridge network: ``--docker-network host``
has been ignored since SAM CLI 1.87 (https://github.com/aws/aws-sam-cli/issues/4236; the special
case was dropped in aws-sam-cli commit 369aa723d), so 127.0.0.1 inside the container is the
container's own. A service for the function (moto's server, the Slack stand-in) therefore listens
on this machine's address on that bridge: it stays on this machine, and no container needs a route
anywhere else.
"""

from __future__ import annotations

import fcntl
import ipaddress
import shutil
import socket
import struct
import subprocess

from restorewatch.errors import InputError

_SIOCGIFADDR = 0x8915


def docker_problem(timeout: float = 30.0) -> str | None:
    """Why Docker's engine cannot be used here, or ``None``."""
    if shutil.which("docker") is None:
        return "the docker command is not installed (apt-get install docker.io)"
    try:
        done = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"Docker's engine did not answer `docker info` within {timeout:.0f} s"
    if done.returncode != 0 or not done.stdout.strip():
        detail = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        return f"Docker's engine is not running or not reachable ({detail}): start dockerd"
    return None


def bridge_address() -> str:
    """This machine's IPv4 address on Docker's default bridge (where SAM's containers reach it)."""
    inspect = subprocess.run(
        ["docker", "network", "inspect", "bridge", "--format",
         '{{range .IPAM.Config}}{{.Gateway}} {{end}}|{{index .Options "com.docker.network.bridge.name"}}'],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if inspect.returncode != 0:
        raise InputError(f"cannot inspect Docker's bridge network: {inspect.stderr.strip()}")
    gateways, _, interface = inspect.stdout.strip().partition("|")
    for gateway in gateways.split():
        if ipaddress.ip_address(gateway).version == 4:
            return gateway
    # Docker 20.10 records no gateway for the default bridge: the bridge interface's own address
    return interface_address(interface or "docker0")


def interface_address(name: str) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
        except OSError as error:
            raise InputError(f"network interface {name} has no IPv4 address ({error.strerror})") from None
    return socket.inet_ntoa(packed[20:24])
