"""``python -m aios3fm server`` in a child process, for benchmarks and tests that want the
server's CPU and memory apart from the client's (EmbeddedS3 runs in the caller's process)."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ._middleware import CONTROL_PATH

__all__ = ["ServerProcess", "free_port", "server_process"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    endpoint_url: str
    environ: dict[str, str]
    """The ``export`` lines the server printed: endpoint, dummy credentials, region."""
    process: subprocess.Popen[str]
    stderr: str = ""
    """What the server wrote to stderr, once it has stopped."""

    def _control(self, method: str, action: str, query: str = "") -> dict[str, Any]:
        host, _, port = self.endpoint_url.removeprefix("http://").partition(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            connection.request(method, f"{CONTROL_PATH}{action}{query}")
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"server control {action}: HTTP {response.status}")
            result: dict[str, Any] = json.loads(body)
            return result
        finally:
            connection.close()

    def requests(self) -> dict[str, int]:
        """Requests that reached the server since the last reset, by S3 operation."""
        counts: dict[str, int] = self._control("GET", "requests")["requests"]
        return counts

    def reset_requests(self) -> None:
        self._control("POST", "reset-requests")

    def set_latency(self, seconds: float) -> None:
        """Seconds added to every request from now on."""
        self._control("POST", "latency", f"?seconds={seconds}")

    def quirks(self) -> dict[str, bool]:
        """The server's switches (``ignore_conditional_headers``, ...), as EmbeddedS3 has them."""
        return self._switches(self._control("GET", "quirks"))

    def set_quirks(
        self, *, ignore_conditional_headers: bool | None = None,
        reject_checksum_trailers: bool | None = None, unordered_listings: bool | None = None,
        require_content_md5: bool | None = None,
    ) -> dict[str, bool]:  # fmt: skip
        """Turn the switches given on or off (None: left as they are); returns them all."""
        given = {
            "ignore_conditional_headers": ignore_conditional_headers,
            "reject_checksum_trailers": reject_checksum_trailers,
            "unordered_listings": unordered_listings,
            "require_content_md5": require_content_md5,
        }
        query = urlencode({name: int(on) for name, on in given.items() if on is not None})
        return self._switches(self._control("POST", "quirks", f"?{query}"))

    @staticmethod
    def _switches(answer: dict[str, Any]) -> dict[str, bool]:
        return {name: bool(on) for name, on in answer.items()}


@contextmanager
def server_process(*options: str, port: int | None = None) -> Iterator[ServerProcess]:
    """Start the server, wait for its banner, yield it, and stop it with SIGTERM."""
    port = port or free_port()
    command = [sys.executable, "-m", "aios3fm", "server", "--port", str(port), *options]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        server: ServerProcess | None = None
        try:
            assert proc.stdout is not None
            banner = proc.stdout.readline()
            if f"serving on http://127.0.0.1:{port}" not in banner:
                raise RuntimeError(f"aios3fm server did not start: {banner!r}")
            environ: dict[str, str] = {}
            for line in iter(proc.stdout.readline, ""):
                if line.strip().startswith("export "):
                    name, _, value = line.strip().removeprefix("export ").partition("=")
                    environ[name] = value
                if "AWS_DEFAULT_REGION" in environ:
                    break
            server = ServerProcess(f"http://127.0.0.1:{port}", environ, proc)
            yield server
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            if proc.stderr is not None and server is not None:
                server.stderr = proc.stderr.read()
