"""moto's server on 127.0.0.1 in a child process: a real HTTP endpoint standing in for AWS.

Used by ``make demo``, ``make demo-org`` and the end-to-end tests; started and stopped by whoever
needs it, on a free port, so several can run side by side.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def moto_server(
    env: Mapping[str, str | None] | None = None, *, start_timeout: float = 30.0, host: str = "127.0.0.1"
) -> Iterator[str]:
    """Yield the endpoint URL; ``env`` overrides the server's environment (``None`` removes a name).

    ``host``: the address to listen on; only a local one (loopback, or this machine's side of a
    Docker bridge for containers to reach it).
    """
    environment = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    port = free_port(host)
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    "moto's server exited at start (is moto[server] installed? run `make install`)"
                )
            with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto's server did not start within {start_timeout:.0f} s")
            time.sleep(0.05)
        yield f"http://{host}:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
