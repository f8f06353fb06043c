"""The CLI's commands: each an async function of (FileManager, args, Output) -> exit code,
using FileManager's public API only."""

from __future__ import annotations

import argparse
import fnmatch
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict

import anyio
import anyio.to_thread

from .._exceptions import InvalidLocationError, is_a_directory
from .._fs import FileManager
from .._location import S3Location, parse_location
from ._output import EXIT_OK, ItemReport, Output, when

__all__ = ["COMMANDS"]


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
                f"{when(entry.mtime)} {'DIR' if entry.is_dir else entry.size:>12} {name}"
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
            f"mtime={when(info.mtime)}  etag={info.etag}",
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
                raise is_a_directory(source, verb, "use -r")
    items = ItemReport(out, verb)
    options = {"conflict": args.conflict, "dry_run": args.dry_run, "on_item": items}
    with out.bar(verb) as progress:
        if (
            len(sources) == 1
            and not _is_dir_target(destination)
            and not await fm.is_dir(destination)
            and await fm.is_file(sources[0])
        ):  # cp FILE NAME: one file to an exact name, not into a directory
            to_name = fm.move_file if move else fm.copy_file
            result = await to_name(sources[0], destination, progress=progress, **options)
        else:
            run = fm.move if move else fm.copy
            result = await run(
                sources, destination, progress=progress,
                follow_symlinks=args.follow_symlinks, keep_items=False, **options,
            )  # fmt: skip
    return items.finish(result)


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
                raise is_a_directory(path, "rm", "use -r") from exc
            out.item({"status": "done", "source": path}, f"delete {path}")
        return EXIT_OK
    items = ItemReport(out, "delete")
    with out.bar("delete") as progress:
        result = await fm.delete(
            args.paths, dry_run=args.dry_run, progress=progress, if_unchanged=args.if_unchanged,
            on_item=items, keep_items=False,
        )  # fmt: skip
    return items.finish(result)


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
            out.item(asdict(member), f"{when(member.mtime)} {member.size:>12} {name}")
        return EXIT_OK
    items = ItemReport(out, f"archive {args.action}")
    with out.bar(args.action) as progress:
        if args.action == "create":
            result = await fm.create_archive(
                args.paths, args.archive, progress=progress, on_item=items, keep_items=False
            )
        else:
            (destination,) = args.paths
            result = await fm.extract_archive(
                args.archive, destination, progress=progress,
                max_total_size=args.max_size, max_ratio=args.max_ratio,
                on_item=items, keep_items=False,
            )  # fmt: skip
    return items.finish(result)


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
