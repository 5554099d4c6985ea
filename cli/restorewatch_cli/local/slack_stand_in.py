"""A stand-in for a Slack incoming webhook on 127.0.0.1: records what is posted, answers 200 "ok".

The demo posts each alert's Slack message to it through the real sender (``alerts.slack_send``),
so a person sees exactly the JSON Slack would receive.
"""

from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["SlackStandIn", "slack_stand_in"]


class SlackStandIn:
    def __init__(self, server: ThreadingHTTPServer, payloads: list[dict[str, Any]]) -> None:
        self.server = server
        self.payloads = payloads
        host, port = server.server_address[:2]
        self.url = f"http://{host!s}:{port}/services/T0DEMO/B0DEMO/demo"


@contextlib.contextmanager
def slack_stand_in(host: str = "127.0.0.1") -> Iterator[SlackStandIn]:
    """``host``: a local address (loopback, or this machine's side of a Docker bridge)."""
    payloads: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            payloads.append(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return  # the demo prints what matters itself

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SlackStandIn(server, payloads)
    finally:
        server.shutdown()
        server.server_close()
