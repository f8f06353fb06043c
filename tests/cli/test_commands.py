"""Every CLI command as a subprocess against an EmbeddedS3 the test started: --json
parsed, exit codes, bad input as one line, and run with 500 lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from aios3fm import EmbeddedS3

from ..conftest import plain_boto3


def cli(s3: EmbeddedS3, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **s3.environ()}
    return subprocess.run(
        [sys.executable, "-m", "aios3fm", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def ok(s3: EmbeddedS3, *args: str) -> list[dict[str, Any]]:
    """Run with --json, require exit 0 and a clean stderr, return the JSON lines."""
    done = cli(s3, "--json", *args)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_every_command(s3: EmbeddedS3, tmp_path: Path) -> None:
    up = tmp_path / "up"
    (up / "sub").mkdir(parents=True)
    (up / "a.txt").write_text("alpha")
    (up / "sub" / "b.log").write_text("bravo!")

    assert ok(s3, "mkdir", "s3://cli-bucket") == [{"status": "done", "location": "s3://cli-bucket"}]
    copied = ok(s3, "cp", "-r", str(up), "s3://cli-bucket/dst/")
    assert copied[-1]["summary"]
    assert copied[-1]["objects"] == 2
    assert copied[-1]["api_calls"] == {"PutObject": 2}
    listed = ok(s3, "ls", "s3://cli-bucket/dst/up/")
    assert [(e["name"], e["is_dir"]) for e in listed] == [("a.txt", False), ("sub", True)]
    assert [e["name"] for e in ok(s3, "ls")] == ["cli-bucket"]
    assert ok(s3, "ls", "-R", "s3://cli-bucket/dst/") == [
        {"location": "s3://cli-bucket/dst/up"},
        {"location": "s3://cli-bucket/dst/up/a.txt"},
        {"location": "s3://cli-bucket/dst/up/sub"},
        {"location": "s3://cli-bucket/dst/up/sub/b.log"},
    ]
    (stat,) = ok(s3, "stat", "s3://cli-bucket/dst/up/a.txt")
    assert (stat["size"], stat["is_dir"]) == (5, False)
    assert cli(s3, "cat", "s3://cli-bucket/dst/up/a.txt").stdout == "alpha"
    (usage,) = ok(s3, "du", "s3://cli-bucket/dst/")
    assert (usage["bytes"], usage["files"]) == (11, 2)
    found = ok(s3, "find", "s3://cli-bucket/", "--name", "*.log")
    assert found == [{"location": "s3://cli-bucket/dst/up/sub/b.log", "is_dir": False}]
    assert (
        ok(s3, "cp", "s3://cli-bucket/dst/up/a.txt", "s3://cli-bucket/exact.txt")[0]["status"]
        == "done"
    )
    assert cli(s3, "cat", "s3://cli-bucket/exact.txt").stdout == "alpha"
    moved = ok(s3, "mv", "-r", "s3://cli-bucket/dst/up/sub", "s3://cli-bucket/moved/")
    assert moved[-1]["objects"] == 1
    assert ok(s3, "touch", "s3://cli-bucket/t/empty")[0]["status"] == "done"
    assert ok(s3, "mkdir", "-p", "s3://cli-bucket/d/e/f")[0]["status"] == "done"
    assert ok(s3, "--dry-run", "rm", "-r", "s3://cli-bucket/t/")[-1]["planned"] == 1
    created = ok(s3, "archive", "create", "s3://cli-bucket/a.tar.gz", "s3://cli-bucket/dst/up")
    assert created[-1]["objects"] == 1
    members = ok(s3, "archive", "list", "s3://cli-bucket/a.tar.gz")
    assert [m["name"] for m in members] == ["up/a.txt"]
    extracted = ok(s3, "archive", "extract", "s3://cli-bucket/a.tar.gz", str(tmp_path / "x"))
    assert extracted[-1]["objects"] == 1
    assert (tmp_path / "x" / "up" / "a.txt").read_text() == "alpha"
    removed = ok(s3, "rm", "-r", "s3://cli-bucket/dst/", "s3://cli-bucket/moved/")
    assert removed[-1]["objects"] == 2
    assert ok(s3, "rm", "s3://cli-bucket/exact.txt") == [
        {"status": "done", "source": "s3://cli-bucket/exact.txt"}
    ]
    remaining = [e["location"] for e in ok(s3, "ls", "-R", "s3://cli-bucket/")]
    assert remaining == [
        "s3://cli-bucket/a.tar.gz",
        "s3://cli-bucket/d",
        "s3://cli-bucket/t",
        "s3://cli-bucket/d/e",
        "s3://cli-bucket/d/e/f",
        "s3://cli-bucket/t/empty",
    ]
    human = cli(s3, "ls", "-l", "s3://cli-bucket/")
    assert human.returncode == 0
    assert "DIR d/" in " ".join(human.stdout.split())


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ls", "s3:/x"], 2, "not a valid S3 location"),
        (["ls", "s3://Bad_Bucket/"], 2, "not a valid bucket name"),
        (["ls", "s3://no-such-bucket/"], 3, "NoSuchBucket"),
        (["cat", "s3://cli-errors/missing.txt"], 3, "s3://cli-errors/missing.txt"),
        (["ls", "--bogus"], 2, "unrecognized arguments: --bogus"),
        (["rm", "s3://cli-errors/dir"], 1, "is a directory (use -r)"),
        (["cp", "s3://cli-errors/dir", "s3://cli-errors/other/"], 1, "is a directory (use -r)"),
        (["cat", "s3://cli-errors/secret/k"], 4, "AccessDenied"),
        (["nope"], 2, "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_the_documented_code(
    s3: EmbeddedS3, args: list[str], code: int, message: str
) -> None:
    assert cli(s3, "mkdir", "s3://cli-errors").returncode == 0
    assert (
        cli(s3, "touch", "s3://cli-errors/dir/inside", "s3://cli-errors/secret/k").returncode == 0
    )
    s3.deny("GetObject", bucket="cli-errors", prefix="secret/")
    done = cli(s3, *args)
    assert done.returncode == code, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("aios3fm: error: ")
    assert message in lines[0]
    assert "Traceback" not in done.stderr


def test_run_executes_500_lines_concurrently(s3: EmbeddedS3, tmp_path: Path) -> None:
    assert cli(s3, "mkdir", "s3://cli-run").returncode == 0
    script = tmp_path / "jobs.txt"
    script.write_text(
        "# 500 touches\n" + "".join(f"touch s3://cli-run/f/{i:03d}\n" for i in range(500))
    )
    started = time.monotonic()
    done = cli(s3, "--json", "run", str(script))
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-500:]
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 500
    # the lines run at once, so each record says which line it belongs to
    assert sorted((r["line"], r["location"]) for r in records) == [
        (i + 2, f"s3://cli-run/f/{i:03d}") for i in range(500)
    ]
    listed = ok(s3, "ls", "s3://cli-run/f/")
    assert [e["name"] for e in listed] == [f"{i:03d}" for i in range(500)]
    print(f"run of 500 lines: {elapsed:.2f} s")  # the closing note compares, nothing asserts

    copies = "".join(f"cp -r s3://cli-run/f/ s3://cli-run/copy{n}/\n" for n in range(2))
    both = cli(s3, "--json", "run", "-", stdin=copies)
    assert both.returncode == 0, both.stderr[-500:]
    by_line: dict[int, list[dict[str, Any]]] = {}
    for record in map(json.loads, both.stdout.splitlines()):
        by_line.setdefault(record["line"], []).append(record)
    for line, mine in by_line.items():  # interleaved or not, every record is attributable
        assert sorted(r["destination"] for r in mine if not r.get("summary")) == [
            f"s3://cli-run/copy{line - 1}/f/{i:03d}" for i in range(500)
        ]
        assert [r["objects"] for r in mine if r.get("summary")] == [500]
    assert sorted(by_line) == [1, 2]

    bad = cli(s3, "run", "-", stdin="touch s3://cli-run/ok\nls s3:/broken\n")
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        "aios3fm: error: [line 2] 's3:/broken' is not a valid S3 location (s3://bucket/key)"
    ]


@pytest.mark.parametrize("command", [["ls"], ["ls", "-l"], ["ls", "-R"], ["find"], ["du"], ["cat"]])
def test_names_holding_terminal_escapes_are_printed_escaped(
    s3: EmbeddedS3, command: list[str]
) -> None:
    """A key may hold control characters; the terminal must never receive them."""
    raw = plain_boto3(s3)
    raw.create_bucket(Bucket="escapes")
    evil = "e/\x1b]0;owned\x07\x1b[31mred\x1b[0m"
    raw.put_object(Bucket="escapes", Key=evil, Body=b"x")
    target = "s3://escapes/e/" if command[0] != "cat" else "s3://escapes/e/missing\x1b[2J"
    done = cli(s3, *command, target)
    shown = done.stdout + done.stderr
    assert "\x1b" not in shown
    assert "\x07" not in shown
    if command[0] != "cat":
        assert done.returncode == 0, done.stderr
        assert "\\x1b[31mred" in shown or command[0] == "du"
    else:  # a typed key holding control characters is refused, and said so escaped
        assert done.returncode == 2
        assert "missing\\x1b[2J': control characters are not allowed" in shown
    as_json = cli(s3, "--json", *command, target).stdout
    assert "\x1b" not in as_json
