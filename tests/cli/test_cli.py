"""The command line as a subprocess: `server` used by the aws cli, `demo`, bad input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aios3fm._server import server_process as start_server

BIN = Path(sys.executable).parent


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aios3fm", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture
def server_process() -> Iterator[tuple[str, dict[str, str]]]:
    with start_server() as server:
        yield server.endpoint_url, server.environ
    assert server.process.returncode == 0  # SIGTERM stops it cleanly
    assert "Traceback" not in server.stderr


def test_aws_cli_uses_the_server(
    server_process: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    endpoint, server_env = server_process
    aws = shutil.which("aws", path=str(BIN))
    assert aws is not None, "the test extra installs awscli into this environment"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **server_env}
    assert server_env["AWS_ENDPOINT_URL"] == endpoint
    payload = tmp_path / "hello.txt"
    payload.write_bytes(b"hello from the aws cli\n")

    def aws_cli(*args: str) -> str:
        done = subprocess.run(
            [aws, "--endpoint-url", endpoint, *args],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    aws_cli("s3", "mb", "s3://cli-bucket")
    aws_cli("s3", "cp", str(payload), "s3://cli-bucket/dir/hello.txt")
    listing = aws_cli("s3", "ls", "--recursive", "s3://cli-bucket/")
    aws_cli("s3", "cp", "s3://cli-bucket/dir/hello.txt", str(tmp_path / "back.txt"))

    assert listing.split()[-2:] == ["23", "dir/hello.txt"]
    assert (tmp_path / "back.txt").read_bytes() == payload.read_bytes()


def test_demo_runs_and_counts_agree() -> None:
    done = run_cli("demo", "--files", "12")
    assert done.returncode == 0, done.stderr
    assert "uploaded 12 objects" in done.stdout
    assert "warm listing: 0 API calls" in done.stdout
    assert "after listing it: 0 API calls" in done.stdout
    assert "200 concurrent stats of a new key: 1 API call" in done.stdout
    assert "listing right after that write shows it: True" in done.stdout
    assert "copy demo/ -> backup/ (server-side): 13 objects, 0 failed" in done.stdout
    assert "(fresh: True)" in done.stdout
    assert "client and server counts agree" in done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["server", "--fail-rate", "2"], "must be between 0 and 1"),
        (["server", "--latency", "-1"], "must not be negative"),
        (["server", "--port", "http"], "invalid int value"),
        (["no-such-command"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    done = run_cli(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_help_lists_exit_codes() -> None:
    done = run_cli("--help")
    assert done.returncode == 0
    assert "exit codes: 0 success" in " ".join(done.stdout.split())
