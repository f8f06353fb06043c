"""The tools of the peers benchmark, one ``Tool`` per peer: aios3fm (library, and its
CLI), the aws cli, s5cmd, rclone (when on PATH), s3fs, a sequential boto3 loop, and
aioboto3 with ``asyncio.gather`` under a semaphore of 64 (from its own virtualenv,
``.venv-aioboto3``, when that is there: ``benchmarks/aioboto3_peer.py``). Each maps every
step of ``run.STEPS`` and ``run.LATENCY_STEPS`` to what that tool does for it."""

from __future__ import annotations

import shutil
import sys
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from aios3fm import FileManager

from .. import aioboto3_peer
from ..aioboto3_peer import PeerProcess
from .run import Context, Step, Tool, command, local_files, settings

BIN = Path(sys.executable).parent


# -- aios3fm ------------------------------------------------------------------------------


def aios3fm_library() -> Tool:
    async def fresh(ctx: Context, work: Callable[[FileManager], Awaitable[Any]]) -> None:
        async with FileManager(settings=settings(ctx)) as fm:  # a cold cache every step
            result = await work(fm)
            if getattr(result, "failed", ()):
                raise RuntimeError(f"aios3fm: {len(result.failed)} failed")

    async def list_stat(fm: FileManager, ctx: Context) -> None:
        async for directory, _, files in fm.walk(ctx.s3("src/")):
            for name in files:
                await fm.stat(f"{directory.rstrip('/')}/{name}")  # from the walk's listings

    async def listing(fm: FileManager, ctx: Context) -> None:
        async for _ in fm.walk(ctx.s3("src/")):
            pass

    return Tool(
        "aios3fm",
        {
            "upload": lambda c: fresh(c, lambda fm: fm.copy(str(c.local) + "/", c.s3("src/"))),
            "list": lambda c: fresh(c, lambda fm: listing(fm, c)),
            "list+stat": lambda c: fresh(c, lambda fm: list_stat(fm, c)),
            "copy": lambda c: fresh(c, lambda fm: fm.copy(c.s3("src/"), c.s3("dst/"))),
            "move": lambda c: fresh(c, lambda fm: fm.move(c.s3("dst/"), c.s3("mv/"))),
            "delete": lambda c: fresh(c, lambda fm: fm.delete(c.s3("src/"))),
            "copy @20ms": lambda c: fresh(c, lambda fm: fm.copy(c.s3("src/"), c.s3("lat/"))),
            "delete @20ms": lambda c: fresh(c, lambda fm: fm.delete(c.s3("lat/"))),
        },
    )


def aios3fm_cli() -> Tool:
    def cli(*args: str) -> Step:
        def step(ctx: Context) -> Awaitable[None]:
            argv = [a.format(b=ctx.bucket, local=ctx.local) for a in args]
            return command(ctx, sys.executable, "-m", "aios3fm", "--quiet", *argv)

        return step

    return Tool(
        "aios3fm CLI",
        {
            "upload": cli("cp", "-r", "{local}/", "s3://{b}/src/"),
            "list": cli("ls", "-R", "s3://{b}/src/"),
            "list+stat": cli("ls", "-l", "-R", "s3://{b}/src/"),
            "copy": cli("cp", "-r", "s3://{b}/src/", "s3://{b}/dst/"),
            "move": cli("mv", "-r", "s3://{b}/dst/", "s3://{b}/mv/"),
            "delete": cli("rm", "-r", "s3://{b}/src/"),
            "copy @20ms": cli("cp", "-r", "s3://{b}/src/", "s3://{b}/lat/"),
            "delete @20ms": cli("rm", "-r", "s3://{b}/lat/"),
        },
        subprocess_cpu=True,
    )


# -- CLI peers ----------------------------------------------------------------------------


def aws_cli() -> Tool | None:
    aws = shutil.which("aws", path=str(BIN)) or shutil.which("aws")
    if aws is None:
        return None

    def cli(*args: str) -> Step:
        def step(ctx: Context) -> Awaitable[None]:
            argv = [a.format(b=ctx.bucket, local=ctx.local) for a in args]
            return command(ctx, aws, "--endpoint-url", ctx.endpoint, *argv)

        return step

    return Tool(
        "aws cli",
        {
            "upload": cli("s3", "cp", "--recursive", "{local}", "s3://{b}/src/"),
            "list": cli("s3", "ls", "--recursive", "s3://{b}/src/"),
            "list+stat": cli("s3", "ls", "--recursive", "s3://{b}/src/"),  # sizes included
            "copy": cli("s3", "cp", "--recursive", "s3://{b}/src/", "s3://{b}/dst/"),
            "move": cli("s3", "mv", "--recursive", "s3://{b}/dst/", "s3://{b}/mv/"),
            "delete": cli("s3", "rm", "--recursive", "s3://{b}/src/"),
            "copy @20ms": cli("s3", "cp", "--recursive", "s3://{b}/src/", "s3://{b}/lat/"),
            "delete @20ms": cli("s3", "rm", "--recursive", "s3://{b}/lat/"),
        },
        note="default settings (10 concurrent requests)",
        subprocess_cpu=True,
    )


def s5cmd() -> Tool | None:
    binary = shutil.which("s5cmd", path=str(BIN)) or shutil.which("s5cmd")
    if binary is None:
        return None

    def cli(*args: str) -> Step:
        def step(ctx: Context) -> Awaitable[None]:
            argv = [a.format(b=ctx.bucket, local=ctx.local) for a in args]
            return command(ctx, binary, "--endpoint-url", ctx.endpoint, *argv)

        return step

    return Tool(
        "s5cmd",
        {
            "upload": cli("cp", "{local}/*", "s3://{b}/src/"),
            "list": cli("ls", "s3://{b}/src/*"),
            "list+stat": cli("ls", "s3://{b}/src/*"),  # sizes included
            "copy": cli("cp", "s3://{b}/src/*", "s3://{b}/dst/"),
            "move": cli("mv", "s3://{b}/dst/*", "s3://{b}/mv/"),
            "delete": cli("rm", "s3://{b}/src/*"),
            "copy @20ms": cli("cp", "s3://{b}/src/*", "s3://{b}/lat/"),
            "delete @20ms": cli("rm", "s3://{b}/lat/*"),
        },
        note="default settings (256 workers)",
        subprocess_cpu=True,
    )


def rclone() -> Tool | None:
    binary = shutil.which("rclone")
    if binary is None:
        return None

    def cli(*args: str) -> Step:
        def step(ctx: Context) -> Awaitable[None]:
            env = ctx.server.environ
            remote = (
                f":s3,provider=Other,endpoint='{ctx.endpoint}',"
                f"access_key_id={env['AWS_ACCESS_KEY_ID']},"
                f"secret_access_key={env['AWS_SECRET_ACCESS_KEY']}:"
            )
            argv = [a.format(b=ctx.bucket, local=ctx.local, r=remote) for a in args]
            return command(ctx, binary, "--transfers", "64", "--checkers", "64", *argv)

        return step

    return Tool(
        "rclone",
        {
            "upload": cli("copy", "{local}", "{r}{b}/src"),
            "list": cli("lsf", "-R", "{r}{b}/src"),
            "list+stat": cli("lsl", "{r}{b}/src"),
            "copy": cli("copy", "{r}{b}/src", "{r}{b}/dst"),
            "move": cli("move", "{r}{b}/dst", "{r}{b}/mv"),
            "delete": cli("delete", "{r}{b}/src"),
            "copy @20ms": cli("copy", "{r}{b}/src", "{r}{b}/lat"),
            "delete @20ms": cli("delete", "{r}{b}/lat"),
        },
        note="--transfers 64 --checkers 64",
        subprocess_cpu=True,
    )


# -- library peers ------------------------------------------------------------------------


def s3fs_tool() -> Tool | None:
    try:
        import s3fs
    except ImportError:
        return None

    def fs_for(ctx: Context) -> Any:
        env = ctx.server.environ
        return s3fs.S3FileSystem(
            key=env["AWS_ACCESS_KEY_ID"],
            secret=env["AWS_SECRET_ACCESS_KEY"],
            endpoint_url=ctx.endpoint,
            skip_instance_cache=True,  # a cold cache every step, as for aios3fm
            client_kwargs={"region_name": "us-east-1"},
        )

    def sync(work: Callable[[Any, Context], Any]) -> Step:
        async def step(ctx: Context) -> None:
            await anyio.to_thread.run_sync(lambda: work(fs_for(ctx), ctx))

        return step

    def list_stat(fs: Any, ctx: Context) -> None:
        for path in fs.find(f"{ctx.bucket}/src/"):
            fs.info(path)

    def move(fs: Any, ctx: Context) -> None:
        fs.copy(f"{ctx.bucket}/dst/", f"{ctx.bucket}/mv/", recursive=True)
        fs.rm(f"{ctx.bucket}/dst/", recursive=True)

    return Tool(
        "s3fs",
        {
            "upload": sync(lambda fs, c: fs.put(str(c.local) + "/", f"{c.bucket}/src/", True)),
            "list": sync(lambda fs, c: fs.find(f"{c.bucket}/src/")),
            "list+stat": sync(list_stat),
            "copy": sync(lambda fs, c: fs.copy(f"{c.bucket}/src/", f"{c.bucket}/dst/", True)),
            "move": sync(move),
            "delete": sync(lambda fs, c: fs.rm(f"{c.bucket}/src/", recursive=True)),
            "copy @20ms": sync(lambda fs, c: fs.copy(f"{c.bucket}/src/", f"{c.bucket}/lat/", True)),
            "delete @20ms": sync(lambda fs, c: fs.rm(f"{c.bucket}/lat/", recursive=True)),
        },
        note="move = copy + rm: s3fs's own mv of a directory fails on this server",
    )


def boto3_loop() -> Tool:
    import boto3

    def client_for(ctx: Context) -> Any:
        env = ctx.server.environ
        return boto3.client(
            "s3",
            endpoint_url=ctx.endpoint,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        )

    def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", ())]

    def upload(s3: Any, ctx: Context) -> None:
        for path in local_files(ctx):
            key = "src/" + path.relative_to(ctx.local).as_posix()
            s3.put_object(Bucket=ctx.bucket, Key=key, Body=path.read_bytes())

    def list_stat(s3: Any, ctx: Context) -> None:
        for key in keys(s3, ctx.bucket, "src/"):
            s3.head_object(Bucket=ctx.bucket, Key=key)

    def copy(s3: Any, ctx: Context, source: str, target: str) -> list[str]:
        done = []
        for key in keys(s3, ctx.bucket, source):
            new = target + key.removeprefix(source)
            s3.copy_object(
                Bucket=ctx.bucket, Key=new, CopySource={"Bucket": ctx.bucket, "Key": key}
            )
            done.append(key)
        return done

    def move(s3: Any, ctx: Context) -> None:
        for key in copy(s3, ctx, "dst/", "mv/"):
            s3.delete_object(Bucket=ctx.bucket, Key=key)

    def delete(s3: Any, ctx: Context, prefix: str) -> None:
        found = keys(s3, ctx.bucket, prefix)
        for start in range(0, len(found), 1000):
            batch = [{"Key": k} for k in found[start : start + 1000]]
            s3.delete_objects(Bucket=ctx.bucket, Delete={"Objects": batch, "Quiet": True})

    def sync(work: Callable[[Any, Context], Any]) -> Step:
        async def step(ctx: Context) -> None:
            await anyio.to_thread.run_sync(lambda: work(client_for(ctx), ctx))

        return step

    return Tool(
        "boto3 loop",
        {
            "upload": sync(upload),
            "list": sync(lambda s3, c: keys(s3, c.bucket, "src/")),
            "list+stat": sync(list_stat),
            "copy": sync(lambda s3, c: copy(s3, c, "src/", "dst/")),
            "move": sync(move),
            "delete": sync(lambda s3, c: delete(s3, c, "src/")),
            "copy @20ms": sync(lambda s3, c: copy(s3, c, "src/", "lat/")),
            "delete @20ms": sync(lambda s3, c: delete(s3, c, "lat/")),
        },
        note="sequential, DeleteObjects in batches of 1000",
    )


def aioboto3_gather() -> Tool | None:
    """aioboto3 + ``asyncio.gather`` under a semaphore of 64, run from its own virtualenv
    (``benchmarks/aioboto3_peer.py``); ``None`` when ``.venv-aioboto3`` is missing.

    One peer process serves the whole run, started by the first step (so pinned with the
    clients) and ended with the tool. Each step is one job: a new session and client, made
    and closed inside the peer's timing as the in-process tool made one every step."""
    if not aioboto3_peer.available():
        return None
    started: list[PeerProcess] = []
    reported: list[tuple[float, float]] = []

    def job(name: str, **arguments: str) -> Step:
        async def step(ctx: Context) -> None:
            if not started:
                started.append(PeerProcess(ctx.env))
                weakref.finalize(tool, started[0].close)
            env = ctx.server.environ
            task = {
                "step": name,
                "client": "fresh",
                "endpoint": ctx.endpoint,
                "access_key_id": env["AWS_ACCESS_KEY_ID"],
                "secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
                "bucket": ctx.bucket,
                **{key: value.format(local=ctx.local) for key, value in arguments.items()},
            }
            reported.append(await anyio.to_thread.run_sync(started[0].timed, task))

        return step

    tool = Tool(
        "aioboto3+gather",
        {
            "upload": job("upload", local="{local}", prefix="src/"),
            "list": job("list", prefix="src/"),
            "list+stat": job("list+stat", prefix="src/"),
            "copy": job("copy", source="src/", target="dst/"),
            "move": job("move", source="dst/", target="mv/"),
            "delete": job("delete", prefix="src/"),
            "copy @20ms": job("copy", source="src/", target="lat/"),
            "delete @20ms": job("delete", prefix="lat/"),
        },
        note=f"semaphore of 64; own virtualenv ({aioboto3_peer.version()}), timed in its process",
        self_timed=lambda: reported.pop(),
    )
    return tool


def all_tools() -> tuple[list[Tool], list[str]]:
    """The tools found on this machine, and a note for each one skipped."""
    tools: list[Tool] = [aios3fm_library(), aios3fm_cli()]
    skipped: list[str] = []
    for name, factory in (("aws cli", aws_cli), ("s5cmd", s5cmd), ("rclone", rclone),
                          ("s3fs", s3fs_tool)):  # fmt: skip
        tool = factory()
        if tool is None:
            skipped.append(f"{name}: not installed, skipped")
        else:
            tools.append(tool)
    tools.append(boto3_loop())
    peer = aioboto3_gather()
    if peer is None:
        skipped.append(
            f"aioboto3+gather: not installed ({aioboto3_peer.VENV.name} missing:"
            " ./scripts/install_peer_venv.sh), skipped"
        )
    else:
        tools.append(peer)
    return tools, skipped
