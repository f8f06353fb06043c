"""The CLI's commands: each an async function of (FileManager, args, Output) -> exit code.

Output is human text by default, or JSON lines with ``--json`` (one object per item, then
a final summary). Progress bars (rich) appear only on a terminal, never with ``--json``,
``--quiet`` or ``--no-progress``.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any, TextIO

import anyio
import anyio.to_thread

from ._events import ChangeEvent
from ._exceptions import InvalidLocationError, IsADirectoryS3Error
from ._location import S3Location, parse_location
from ._manager import FileManager
from ._models import OperationResult, Progress
from ._ops._plan import Item
from ._ops._transfer import transfer

__all__ = ["COMMANDS", "Output"]

EXIT_OK, EXIT_FAILED = 0, 1


class Output:
    def __init__(
        self, *, as_json: bool, quiet: bool, progress: bool, stream: TextIO = sys.stdout
    ) -> None:
        self.as_json = as_json
        self.quiet = quiet
        self.progress = progress and not as_json and not quiet and sys.stderr.isatty()
        self._stream = stream
        self.prefix = ""

    def item(self, record: dict[str, Any], text: str) -> None:
        if self.as_json:
            self._stream.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        elif not self.quiet:
            self._stream.write(self.prefix + text + "\n")

    def summary(self, record: dict[str, Any], text: str) -> None:
        self.item({"summary": True, **record}, text)

    def error(self, text: str) -> None:
        print(f"aios3fm: error: {self.prefix}{text}", file=sys.stderr)

    @contextmanager
    def bar(self, title: str) -> Iterator[Callable[[Progress], None] | None]:
        if not self.progress:
            yield None
            return
        from rich.console import Console
        from rich.filesize import decimal
        from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        started = time.monotonic()
        with Bar(
            TextColumn(title),
            BarColumn(),
            TextColumn("{task.fields[count]} objects"),
            TextColumn("{task.fields[size]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=True,
            console=Console(stderr=True),
        ) as bar:
            task = bar.add_task(title, total=None, count="0/?", size="", rate="")

            def update(p: Progress) -> None:
                rate = p.bytes_done / max(time.monotonic() - started, 1e-6)
                size = decimal(p.bytes_done) + (
                    f"/{decimal(p.bytes_total)}" if p.bytes_total else ""
                )
                total = "?" if p.objects_total is None else p.objects_total
                bar.update(
                    task,
                    completed=p.objects_done,
                    total=p.objects_total,
                    count=f"{p.objects_done}/{total}",
                    size=size,
                    rate=f"{decimal(int(rate))}/s",
                )

            yield update


def _when(mtime: float | None) -> str:
    if mtime is None:
        return " " * 19
    return datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _report(out: Output, result: OperationResult, verb: str) -> int:
    for item in result.succeeded + result.planned:
        record = {
            "status": item.status,
            "source": item.source,
            "destination": item.destination,
            "size": item.size,
        }
        arrow = f" -> {item.destination}" if item.destination else ""
        out.item(
            record, f"{'(dry run) ' if item.status == 'planned' else ''}{verb} {item.source}{arrow}"
        )
    for item in result.skipped:
        out.item(
            {
                "status": "skipped",
                "source": item.source,
                "destination": item.destination,
                "reason": item.reason,
            },
            f"skipped {item.source} ({item.reason})",
        )
    for item in result.failed:
        if out.as_json:
            out.item(
                {
                    "status": "failed",
                    "source": item.source,
                    "destination": item.destination,
                    "error": str(item.error),
                },
                "",
            )
        out.error(f"{item.source}: {item.error}")
    out.summary(
        {
            "operation": result.operation,
            "objects": result.objects,
            "bytes": result.bytes,
            "skipped": len(result.skipped),
            "failed": len(result.failed),
            "planned": len(result.planned),
            "seconds": round(result.duration, 3),
            "api_calls": dict(result.api_calls),
        },
        f"{verb}: {result.objects} objects, {result.bytes} bytes, {len(result.skipped)} skipped, "
        f"{len(result.failed)} failed in {result.duration:.2f} s",
    )
    return EXIT_FAILED if result.failed else EXIT_OK


async def cmd_ls(fm: FileManager, args: argparse.Namespace, out: Output) -> int:
    for path in args.paths or ["s3://"]:
        if args.recursive:
            async for dirpath, dirnames, filenames in fm.walk(path):
                for name in sorted(dirnames + filenames):
                    out.item(
                        {"location": f"{dirpath.rstrip('/')}/{name}"},
                        f"{dirpath.rstrip('/')}/{name}",
                    )
            continue
        for entry in await fm.listdir(path):
            name = entry.name + ("/" if entry.is_dir else "")
            text = (
                f"{_when(entry.mtime)} {'DIR' if entry.is_dir else entry.size:>12} {name}"
                if args.long
                else name
            )
            out.item(asdict(entry), text)
    return EXIT_OK


async def cmd_stat(fm: FileManager, args: argparse.Namespace, out: Output) -> int:
    for path in args.paths:
        info = await fm.stat(path)
        record = {"location": info.location, **asdict(info)}
        out.item(
            record,
            f"{info.location}  {'directory' if info.is_dir else 'file'}  size={info.size}  "
            f"mtime={_when(info.mtime)}  etag={info.etag}",
        )
    return EXIT_OK


async def cmd_cat(fm: FileManager, args: argparse.Namespace, out: Output) -> int:
    sink = sys.stdout.buffer
    for path in args.paths:
        async with fm.open(path) as reader:
            async for chunk in reader:
                await anyio.to_thread.run_sync(sink.write, chunk)
    await anyio.to_thread.run_sync(sink.flush)
    return EXIT_OK


def _is_dir_target(text: str) -> bool:
    """A destination that can only be a directory: ``.../``, ``s3://`` or a bucket."""
    if text.endswith(("/", "\\")) or text == "s3://":
        return True
    return text.startswith("s3://") and "/" not in text[len("s3://") :]


async def _transfer(fm: FileManager, args: argparse.Namespace, out: Output, move: bool) -> int:
    *sources, destination = args.paths
    verb = "move" if move else "copy"
    if not sources:  # a missing location, refused like a malformed one (exit code 2)
        raise InvalidLocationError(
            f"{args.command}: a source and a destination are required (SRC... DST)"
        )
    if not args.recursive:
        for source in sources:
            if await fm.is_dir(source) and not await fm.is_file(source):
                raise IsADirectoryS3Error(
                    f"{source}: is a directory (use -r)",
                    code="IsADirectory",
                    operation=verb,
                    location=source,
                )
    if (
        len(sources) == 1
        and not _is_dir_target(destination)
        and not await fm.is_dir(destination)
        and await fm.is_file(sources[0])
    ):
        return await _exact(fm, sources[0], destination, out, move, args.dry_run)
    run = fm.move if move else fm.copy
    with out.bar(verb) as progress:
        result = await run(
            sources, destination, conflict=args.conflict, dry_run=args.dry_run, progress=progress
        )
    return _report(out, result, verb)


async def _exact(
    fm: FileManager, source: str, destination: str, out: Output, move: bool, dry_run: bool
) -> int:
    """``cp FILE NAME``: one file to an exact name (not into a directory)."""
    started = time.monotonic()
    src, dst = parse_location(source), parse_location(destination)
    info = await fm.stat(source)
    verb = "move" if move else "copy"
    if not dry_run:
        await transfer(fm.client, Item(src, dst, info.size, info.etag))
        if isinstance(dst, S3Location):
            fm.invalidator.emit(ChangeEvent(dst.bucket, written=(dst.key,)))
        if move:
            await fm.remove(source)
        await fm.invalidator.flush()
    status = "planned" if dry_run else "done"
    out.item(
        {"status": status, "source": source, "destination": destination, "size": info.size},
        f"{'(dry run) ' if dry_run else ''}{verb} {source} -> {destination}",
    )
    out.summary(
        {
            "operation": verb,
            "objects": 0 if dry_run else 1,
            "failed": 0,
            "seconds": round(time.monotonic() - started, 3),
        },
        f"{verb}: {0 if dry_run else 1} objects",
    )
    return EXIT_OK


async def cmd_cp(fm: FileManager, args: argparse.Namespace, out: Output) -> int:
    return await _transfer(fm, args, out, move=False)


async def cmd_mv(fm: FileManager, args: argparse.Namespace, out: Output) -> int:
    return await _transfer(fm, args, out, move=True)


async def cmd_rm(fm: FileManager, args: argparse.Namespace, out: Output) -> int:
    if not args.recursive:
        for path in args.paths:
            if args.dry_run:
                await fm.stat(path)
                out.item({"status": "planned", "source": path}, f"(dry run) delete {path}")
                continue
            try:
                await fm.remove(path)
            except IsADirectoryError as exc:
                raise IsADirectoryS3Error(
                    f"{path}: is a directory (use -r)",
                    code="IsADirectory",
                    operation="rm",
                    location=path,
                ) from exc
            out.item({"status": "done", "source": path}, f"delete {path}")
        return EXIT_OK
    with out.bar("delete") as progress:
        result = await fm.delete(args.paths, dry_run=args.dry_run, progress=progress)
    return _report(out, result, "delete")


async def cmd_mkdir(fm: FileManager, args: argparse.Namespace, out: Output) -> int:
    for path in args.paths:
        location = parse_location(path)
        if isinstance(location, S3Location) and location.bucket and not location.key:
            await fm.make_bucket(location.bucket)  # mkdir s3://bucket creates the bucket
        else:
            await fm.create_directory(path, parents=args.parents, exist_ok=args.parents)
        out.item({"status": "done", "location": path}, f"mkdir {path}")
    return EXIT_OK


async def cmd_touch(fm: FileManager, args: argparse.Namespace, out: Output) -> int:
    for path in args.paths:
        await fm.create_file(path, exist_ok=True)
        out.item({"status": "done", "location": path}, f"touch {path}")
    return EXIT_OK


async def cmd_du(fm: FileManager, args: argparse.Namespace, out: Output) -> int:
    for path in args.paths:
        usage = await fm.du(path)
        out.item(
            {"location": path, "bytes": usage.bytes, "files": usage.files},
            f"{usage.bytes:>14} bytes {usage.files:>9} files  {path}",
        )
    return EXIT_OK


async def cmd_find(fm: FileManager, args: argparse.Namespace, out: Output) -> int:
    for path in args.paths:
        async for dirpath, dirnames, filenames in fm.walk(path):
            for name in [d + "/" for d in dirnames] + filenames:
                if args.name is None or fnmatch.fnmatchcase(name.rstrip("/"), args.name):
                    location = f"{dirpath.rstrip('/')}/{name}"
                    out.item({"location": location, "is_dir": name.endswith("/")}, location)
    return EXIT_OK


async def cmd_archive(fm: FileManager, args: argparse.Namespace, out: Output) -> int:
    if args.action == "list":
        for member in await fm.list_archive(args.archive):
            name = member.name + ("/" if member.is_dir else "")
            out.item(asdict(member), f"{_when(member.mtime)} {member.size:>12} {name}")
        return EXIT_OK
    with out.bar(args.action) as progress:
        if args.action == "create":
            result = await fm.create_archive(args.paths, args.archive, progress=progress)
        else:
            (destination,) = args.paths
            result = await fm.extract_archive(args.archive, destination, progress=progress)
    return _report(out, result, f"archive {args.action}")


Command = Callable[[FileManager, argparse.Namespace, Output], Awaitable[int]]
COMMANDS: dict[str, Command] = {
    "ls": cmd_ls,
    "stat": cmd_stat,
    "cat": cmd_cat,
    "cp": cmd_cp,
    "mv": cmd_mv,
    "rm": cmd_rm,
    "mkdir": cmd_mkdir,
    "touch": cmd_touch,
    "du": cmd_du,
    "find": cmd_find,
    "archive": cmd_archive,
}
