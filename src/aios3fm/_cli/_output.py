"""What the CLI prints: human text by default, or JSON lines with ``--json`` (one object
per item, then a final summary); progress bars (rich) only on a terminal, never with
``--json``, ``--quiet`` or ``--no-progress``."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TextIO

from .._exceptions import (
    CorruptArchiveError,
    InvalidLocationError,
    MissingDependencyError,
    UnsafeArchiveMember,
)

if TYPE_CHECKING:
    from .._models import ItemResult, OperationResult, Progress

__all__ = ["EXIT_CODES", "ItemReport", "Output", "exit_code_for", "printable", "when"]

# C0 and C1 control characters and DEL: a key may hold them, a terminal must not get them
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}


def printable(text: str) -> str:
    """``text`` for a terminal: control characters (escape sequences, newlines in a key)
    are shown as ``\\xNN``, so a name can neither drive the terminal nor fake a line."""
    return text.translate(_CONTROL)


EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_ACCESS_DENIED = 4
EXIT_MISSING_DEPENDENCY = 5
EXIT_INTERRUPTED = 130

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_FAILED: "the command failed (or some items failed)",
    EXIT_USAGE: "usage error: bad option, argument or location",
    EXIT_NOT_FOUND: "a bucket or key was not found",
    EXIT_ACCESS_DENIED: "access denied (or no credentials)",
    EXIT_MISSING_DEPENDENCY: "an optional dependency is not installed (the message says which)",
    EXIT_INTERRUPTED: "interrupted",
}


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code of an error (see EXIT_CODES)."""
    if isinstance(exc, MissingDependencyError):
        return EXIT_MISSING_DEPENDENCY
    if isinstance(exc, FileNotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, PermissionError):
        return EXIT_ACCESS_DENIED
    if isinstance(exc, (UnsafeArchiveMember, CorruptArchiveError)):
        return EXIT_FAILED
    if isinstance(exc, (InvalidLocationError, ValueError)):
        return EXIT_USAGE
    return EXIT_FAILED


class Output:
    def __init__(
        self, *, as_json: bool, quiet: bool, progress: bool, stream: TextIO | None = None
    ) -> None:
        self.as_json = as_json
        self.quiet = quiet
        self.progress = progress and not as_json and not quiet and sys.stderr.isatty()
        self._stream = stream
        self.prefix = ""
        self.line: int | None = None
        """Inside ``run``: the line of the command, added to every JSON record (the
        commands run at once, so their records interleave)."""

    def item(self, record: dict[str, Any], text: str) -> None:
        # sys.stdout at write time: a live progress bar redirects it to print above itself
        stream = self._stream or sys.stdout
        if self.as_json:
            if self.line is not None:
                record = {"line": self.line, **record}
            stream.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        elif not self.quiet:
            stream.write(self.prefix + printable(text) + "\n")

    def summary(self, record: dict[str, Any], text: str) -> None:
        self.item({"summary": True, **record}, text)

    def error(self, text: str) -> None:
        print(f"aios3fm: error: {self.prefix}{printable(text)}", file=sys.stderr)

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


def when(mtime: float | None) -> str:
    if mtime is None:
        return " " * 19
    return datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class ItemReport:
    """Prints each item of an operation as it settles (pass it as ``on_item``, with
    ``keep_items=False``) and keeps only what the exit code needs, so the CLI's memory
    stays flat however many objects a job has; ``finish`` prints the summary."""

    def __init__(self, out: Output, verb: str) -> None:
        self._out = out
        self._verb = verb
        self._codes: set[int] = set()

    def __call__(self, item: ItemResult) -> None:
        out, verb = self._out, self._verb
        if item.status == "failed":
            self._codes.add(exit_code_for(item.error) if item.error else EXIT_FAILED)
            if out.as_json:
                where = {"source": item.source, "destination": item.destination}
                out.item({"status": "failed", **where, "error": str(item.error)}, "")
            out.error(f"{item.source}: {item.error}")
        elif item.status == "skipped":
            out.item(
                {
                    "status": "skipped",
                    "source": item.source,
                    "destination": item.destination,
                    "reason": item.reason,
                },
                f"skipped {item.source} ({item.reason})",
            )
        else:
            record: dict[str, Any] = {
                "status": item.status,
                "source": item.source,
                "destination": item.destination,
                "size": item.size,
            }
            arrow = f" -> {item.destination}" if item.destination else ""
            dry = "(dry run) " if item.status == "planned" else ""
            out.item(record, f"{dry}{verb} {item.source}{arrow}")

    def finish(self, result: OperationResult) -> int:
        """The summary line, and the exit code: 0 when nothing failed; 3 when every failed
        item was not found, 4 when every one was denied; else 1 (an item's own trouble is
        never a usage error)."""
        counts = result.counts
        skipped, failed, planned = counts["skipped"], counts["failed"], counts["planned"]
        self._out.summary(
            {
                "operation": result.operation,
                "objects": result.objects,
                "bytes": result.bytes,
                "skipped": skipped,
                "failed": failed,
                "planned": planned,
                "seconds": round(result.duration, 3),
                "api_calls": dict(result.api_calls),
            },
            f"{self._verb}: {result.objects} objects, {result.bytes} bytes, {skipped} skipped, "
            f"{failed} failed in {result.duration:.2f} s",
        )
        if not failed:
            return EXIT_OK
        if len(self._codes) == 1 and self._codes <= {EXIT_NOT_FOUND, EXIT_ACCESS_DENIED}:
            return next(iter(self._codes))
        return EXIT_FAILED
