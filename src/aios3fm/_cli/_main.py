"""Command line: ``aios3fm`` / ``python -m aios3fm``. The only place with asyncio.run.

Every command is a function taking the parsed arguments and returning an exit code;
errors become one line on stderr and a documented exit code, never a traceback
(``--debug`` shows one). Start-up is kept short by importing lazily: parsing the
arguments (``--help``, ``--version``, usage errors) loads neither botocore nor aiohttp,
and the embedded server's moto is loaded only by ``server`` and ``demo``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from .. import __version__
from .._exceptions import AioS3FMError
from .._redact import install_log_redaction
from .._runner import run as run_async
from ._output import (
    EXIT_CODES,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    exit_code_for,
    printable,
)

__all__ = ["EXIT_CODES", "main", "run"]

Command = Callable[[argparse.Namespace], int]


def _run_server(args: argparse.Namespace) -> int:
    import signal
    import threading

    from .._server import EmbeddedS3

    s3 = EmbeddedS3(
        host=args.host,
        port=args.port,
        latency=args.latency,
        fail_rate=args.fail_rate,
        seed=args.seed,
    )
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

    return run_async(demo(files=args.files))


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


def _size(text: str) -> int:
    from .._config import parse_size

    try:
        value = parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text} (say 512MiB or 10GiB)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


def _bound(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """A bound of which 0 means none."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text}") from None
        return None if value == 0 else value

    return parse


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text}")
    return value


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (AioS3FMError, OSError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class _Parser(argparse.ArgumentParser):
    """argparse with one line for a usage error (not the usage block), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"aios3fm: error: {message} (see: {self.prog} --help)\n")


def _add_common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options accepted before and after the command (``aios3fm --json ls`` or ``ls --json``)."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    g = parser.add_argument_group("common options")
    g.add_argument(
        "--endpoint-url",
        default=default(None),
        help="S3 endpoint (default: $AWS_ENDPOINT_URL, else AWS)",
    )
    g.add_argument("--profile", default=default(None), help="AWS profile")
    g.add_argument("--region", default=default(None), help="AWS region")
    g.add_argument(
        "--concurrency", type=int, default=default(None), help="requests in flight at once (64)"
    )
    g.add_argument(
        "--cache-ttl",
        type=_non_negative,
        default=default(None),
        help="seconds listings are cached (60)",
    )
    g.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="JSON lines: one object per item, then a summary",
    )
    g.add_argument("--quiet", action="store_true", default=default(False), help="print errors only")
    g.add_argument(
        "--no-progress", action="store_true", default=default(False), help="no progress bar"
    )
    g.add_argument(
        "--dry-run",
        action="store_true",
        default=default(False),
        help="plan and report, write nothing",
    )
    g.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="DEBUG logs on stderr (credentials and signatures scrubbed), tracebacks on errors",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="aios3fm",
        description="Async S3 file manager: locations are s3://bucket/key or local paths.",
        epilog="exit codes: " + "; ".join(f"{c} {d}" for c, d in EXIT_CODES.items()),
    )
    parser.add_argument("--version", action="version", version=f"aios3fm {__version__}")
    _add_common(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help: str, run: Command) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        _add_common(sub, suppress=True)
        sub.set_defaults(run=run)
        return sub

    def s3_command(name: str, help: str) -> argparse.ArgumentParser:
        return command(name, help, _run_s3_command)

    ls = s3_command("ls", "list a directory (s3:// lists the buckets)")
    ls.add_argument("-l", "--long", action="store_true", help="sizes and times")
    ls.add_argument("-R", "--recursive", action="store_true", help="everything below")
    ls.add_argument("paths", nargs="*", metavar="PATH")
    s3_command("stat", "show a file or directory").add_argument("paths", nargs="+", metavar="PATH")
    s3_command("cat", "write files to standard output").add_argument(
        "paths", nargs="+", metavar="PATH"
    )
    for name, verb in (("cp", "copy"), ("mv", "move")):
        sub = s3_command(
            name, f"{verb} files (and with -r directories) into a directory, or a file to a name"
        )
        sub.add_argument("-r", "--recursive", action="store_true", help="directories too")
        sub.add_argument(
            "--conflict",
            choices=("overwrite", "skip", "error"),
            default="overwrite",
            help="when the destination exists (overwrite)",
        )
        sub.add_argument(
            "--no-follow-symlinks",
            dest="follow_symlinks",
            action="store_false",
            help="skip local symlinks (by default they are followed, loops and links to "
            "directories outside the tree excepted; every skip is reported)",
        )
        sub.add_argument("paths", nargs="+", metavar="SRC... DST")
    rm = s3_command("rm", "delete files (and with -r directories)")
    rm.add_argument("-r", "--recursive", action="store_true", help="directories too")
    rm.add_argument(
        "--if-unchanged",
        action="store_true",
        help="delete only what the listing showed (S3: that ETag); keep and report the rest",
    )
    rm.add_argument("paths", nargs="+", metavar="PATH")
    mkdir = s3_command("mkdir", "create directories")
    mkdir.add_argument(
        "-p", "--parents", action="store_true", help="missing parents too; no error if it exists"
    )
    mkdir.add_argument("paths", nargs="+", metavar="PATH")
    s3_command("touch", "create empty files").add_argument("paths", nargs="+", metavar="PATH")
    s3_command("du", "bytes and files under a location").add_argument(
        "paths", nargs="+", metavar="PATH"
    )
    find = s3_command("find", "every file and directory below a location")
    find.add_argument("--name", default=None, help="only names matching this glob")
    find.add_argument("paths", nargs="+", metavar="PATH")
    archive = s3_command("archive", "create, extract or list zip and tar archives")
    archive.add_argument("action", choices=("create", "extract", "list"))
    archive.add_argument("archive", metavar="ARCHIVE")
    archive.add_argument("paths", nargs="*", metavar="SRC... | DEST")
    archive.add_argument(
        "--max-size", type=_bound(_size), default=32 * 2**30, metavar="SIZE",
        help="extract: refuse an archive whose members add up past SIZE (32GiB; 0: no bound)",
    )  # fmt: skip
    archive.add_argument(
        "--max-ratio", type=_bound(float), default=200.0, metavar="R",
        help="extract: refuse one that unpacks to over R times its own size (200; 0: no bound)",
    )  # fmt: skip
    run = command(
        "run", "run the commands of FILE (or - for stdin), one per line, concurrently", _run_file
    )
    run.add_argument("file", metavar="FILE")

    server = command("server", "run the embedded S3 server (moto) in the foreground", _run_server)
    server.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    server.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    server.add_argument(
        "--latency", type=_non_negative, default=0.0, help="seconds added to every request"
    )
    server.add_argument(
        "--fail-rate",
        type=_rate,
        default=0.0,
        help="share of requests answered with 500, 503 SlowDown or a dropped connection",
    )
    server.add_argument("--seed", type=int, default=None, help="seed of the fault picker")

    demo = command("demo", "show aios3fm end to end on an embedded S3 server", _run_demo)
    demo.add_argument("--files", type=int, default=2000, help="files in the sample tree (2000)")
    return parser


def _settings(args: argparse.Namespace) -> Any:
    from .._config import Settings

    return Settings.from_env().replace(
        endpoint_url=args.endpoint_url,
        region=args.region,
        profile=args.profile,
        concurrency=args.concurrency,
        cache_ttl=args.cache_ttl,
    )


def _output(args: argparse.Namespace) -> Any:
    from ._output import Output

    return Output(as_json=args.json, quiet=args.quiet, progress=not args.no_progress)


def _run_s3_command(args: argparse.Namespace) -> int:
    from .._fs import FileManager
    from ._commands import COMMANDS

    async def main() -> int:
        async with FileManager(settings=_settings(args)) as fm:
            return await COMMANDS[args.command](fm, args, _output(args))

    return run_async(main())


def _run_file(args: argparse.Namespace) -> int:
    """Every line a command, all run at once through one FileManager; each line's output
    and errors carry ``[line N]`` (JSON records a ``"line": N`` field); the exit code is
    the highest of any line."""
    import shlex

    from .._fs import FileManager
    from ._commands import COMMANDS

    text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()  # noqa: SIM115
    parser = build_parser()
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)]
    lines = [(n, line) for n, line in lines if line and not line.startswith("#")]

    async def main() -> int:
        import anyio

        codes: list[int] = []
        async with FileManager(settings=_settings(args)) as fm:

            async def one(number: int, line: str) -> None:
                out = _output(args)
                out.prefix, out.line = f"[line {number}] ", number
                try:
                    parsed = parser.parse_args([*_inherit(args), *shlex.split(line)])
                    if parsed.command not in COMMANDS:
                        raise ValueError(f"{parsed.command!r} cannot run inside run")
                    codes.append(await COMMANDS[parsed.command](fm, parsed, out))
                except SystemExit as exc:  # argparse already printed the usage line
                    codes.append(exc.code if isinstance(exc.code, int) else EXIT_USAGE)
                except Exception as exc:
                    out.error(_describe(exc))
                    codes.append(exit_code_for(exc))

            async with anyio.create_task_group() as tg:
                for number, line in lines:
                    tg.start_soon(one, number, line)
        return max(codes, default=EXIT_OK)

    return run_async(main())


def _inherit(args: argparse.Namespace) -> list[str]:
    """The output flags of ``run`` passed on to each of its lines."""
    return [
        flag
        for flag, on in (
            ("--json", args.json),
            ("--quiet", args.quiet),
            ("--dry-run", args.dry_run),
            ("--no-progress", True),
        )
        if on
    ]


def _fail(message: str, code: int) -> int:
    print(f"aios3fm: error: {printable(message)}", file=sys.stderr)
    return code


def run(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Command = args.run
    if args.debug:
        import logging

        install_log_redaction()  # before the first record, whatever logs it
        logging.basicConfig(
            level=logging.DEBUG, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
        )
    try:
        return command(args)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:
        if args.debug:
            raise
        return _fail(_describe(exc), exit_code_for(exc))


def main(argv: Sequence[str] | None = None) -> NoReturn:
    sys.exit(run(argv))
