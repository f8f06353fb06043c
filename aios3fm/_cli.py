"""Command line: ``aios3fm`` / ``python -m aios3fm``. The only place with asyncio.run.

Every command is a function taking the parsed arguments and returning an exit code;
errors become one line on stderr and a documented exit code, never a traceback
(``--debug`` shows one).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import NoReturn

from ._exceptions import (
    AccessDeniedError,
    AioS3FMError,
    InvalidLocationError,
    MissingDependencyError,
    NotFoundError,
)

__all__ = ["EXIT_CODES", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_ACCESS_DENIED = 4
EXIT_INTERRUPTED = 130

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_FAILED: "the command failed (or some items failed)",
    EXIT_USAGE: "usage error: bad option, argument or location",
    EXIT_NOT_FOUND: "a bucket or key was not found",
    EXIT_ACCESS_DENIED: "access denied (or no credentials)",
    EXIT_INTERRUPTED: "interrupted",
}

Command = Callable[[argparse.Namespace], int]


def _run_server(args: argparse.Namespace) -> int:
    from ._embedded import EmbeddedS3

    s3 = EmbeddedS3(
        host=args.host, port=args.port, latency=args.latency, fail_rate=args.fail_rate,
        seed=args.seed,
    )  # fmt: skip
    s3.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"aios3fm embedded S3 serving on {s3.endpoint_url} (Ctrl-C to stop)", flush=True)
    print("Point a client at it with:", flush=True)
    for name, value in s3.environ().items():
        print(f"  export {name}={value}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        s3.stop()
    return EXIT_OK


def _run_demo(args: argparse.Namespace) -> int:
    from ._demo import demo

    return asyncio.run(demo(files=args.files))


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aios3fm",
        description="Async S3 file manager.",
        epilog="exit codes: " + "; ".join(f"{c} {d}" for c, d in EXIT_CODES.items()),
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    server = commands.add_parser(
        "server", help="run the embedded S3 server (moto) in the foreground",
        description="Run EmbeddedS3 until interrupted; prints the endpoint and credentials.",
    )  # fmt: skip
    server.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    server.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    server.add_argument("--latency", type=_non_negative, default=0.0,
                        help="seconds added to every request")  # fmt: skip
    server.add_argument("--fail-rate", type=_rate, default=0.0,
                        help="share of requests answered with 500, 503 SlowDown or a "
                        "dropped connection")  # fmt: skip
    server.add_argument("--seed", type=int, default=None, help="seed of the fault picker")
    server.set_defaults(run=_run_server)

    demo = commands.add_parser(
        "demo", help="show aios3fm end to end on an embedded S3 server",
        description="Start EmbeddedS3, upload a sample tree, list it, print the API calls.",
    )  # fmt: skip
    demo.add_argument("--files", type=int, default=60, help="files in the sample tree (60)")
    demo.set_defaults(run=_run_demo)
    return parser


def _fail(message: str, code: int) -> int:
    print(f"aios3fm: error: {message}", file=sys.stderr)
    return code


def run(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Command = args.run
    try:
        return command(args)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:
        if args.debug:
            raise
        if isinstance(exc, (InvalidLocationError, MissingDependencyError, ValueError)):
            return _fail(str(exc), EXIT_USAGE)
        if isinstance(exc, NotFoundError):
            return _fail(str(exc), EXIT_NOT_FOUND)
        if isinstance(exc, AccessDeniedError):
            return _fail(str(exc), EXIT_ACCESS_DENIED)
        if isinstance(exc, (AioS3FMError, OSError)):
            return _fail(str(exc), EXIT_FAILED)
        return _fail(f"{type(exc).__name__}: {exc}", EXIT_FAILED)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    sys.exit(run(argv))
