"""Credentials never show: with recognisable fake credentials and DEBUG logging on, no
access key, secret, session token or signature appears in logs, exception text, reprs or
CLI output. (moto does not check signatures, so fake credentials work against it.)"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from aios3fm import EmbeddedS3, FileManager, S3Error, Settings

ACCESS_KEY = "AKIAFAKEAIOS3FMTEST7"
SECRET = "fAkE/SeCrEt+aios3fm0123456789abcdefGHIJKL"
TOKEN = "FwoFAKEsessionTOKENaios3fm0123456789xyz"
# a SigV4 signature is 64 hex digits; the scope after Credential= starts with the key id
LEAKS = re.compile(
    "|".join(
        [
            re.escape(ACCESS_KEY),
            re.escape(SECRET),
            re.escape(TOKEN),
            r"Signature=[0-9a-f]{16}",
            r"Signature:\s*[0-9a-f]{16}",  # botocore's signer logs it on the next line
            r"X-Amz-Signature=[0-9a-f]{16}",
            r"Credential=(?!\*\*\*)[A-Z0-9]{8}",
        ]
    )
)


def leaks(text: str) -> list[str]:
    return LEAKS.findall(text)


@pytest.fixture
def debug_log() -> Iterator[list[str]]:
    """Every record of every logger at DEBUG, formatted as a handler would write it."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_no_secret_in_logs_errors_or_reprs(
    s3: EmbeddedS3, debug_log: list[str], tmp_path: Path
) -> None:
    settings = Settings(
        endpoint_url=s3.endpoint_url,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET,
        session_token=TOKEN,
        max_attempts=2,
        retry_base_delay=0.01,
    )
    texts: list[str] = [repr(settings), str(settings)]
    signatures: set[str] = set()

    def keep_signature(request: Any, **kwargs: Any) -> None:
        found = re.search(r"Signature=([0-9a-f]{64})", str(request.headers["Authorization"]))
        if found:
            signatures.add(found.group(1))

    async with FileManager(settings=settings) as fm:
        fm.client._transport._client.meta.events.register("before-send.s3", keep_signature)
        texts += [repr(fm), repr(fm.client), repr(fm.cache), repr(fm.statistics())]
        await fm.make_bucket("secrets")
        await fm.write_bytes("s3://secrets/a/x.txt", b"payload")
        assert await fm.read_bytes("s3://secrets/a/x.txt") == b"payload"
        await fm.copy("s3://secrets/a/", "s3://secrets/b/")
        await fm.copy("s3://secrets/a/", str(tmp_path / "down"))
        s3.deny("GetObject", bucket="secrets", prefix="b/")
        s3.inject("503", count=2, operation="HeadObject")  # retried, then given up
        for call in (
            fm.read_bytes("s3://secrets/b/a/x.txt"),
            fm.stat("s3://secrets/missing"),
            fm.read_bytes("s3://no-such-bucket-x/k"),
        ):
            with pytest.raises(S3Error) as caught:
                await call
            texts += [str(caught.value), repr(caught.value), repr(caught.value.__cause__)]
        result = await fm.delete("s3://secrets/", dry_run=True)
        texts += [repr(result)]
    logged = "\n".join(debug_log)
    assert "Sending http request" in logged  # botocore's request log was on
    assert "Signature=***" in logged  # and scrubbed where it would have leaked
    assert len(debug_log) > 100
    assert leaks(logged) == []
    assert leaks("\n".join(texts)) == []
    assert len(signatures) > 10  # every signature the requests carried ...
    assert [s for s in signatures if s in logged] == []  # ... is nowhere in the logs


async def test_cli_debug_output_has_no_secret(s3: EmbeddedS3, tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": s3.endpoint_url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,  # from the environment: botocore resolves them
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_SESSION_TOKEN": TOKEN,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    outputs: list[str] = []
    for args in (
        ["mkdir", "s3://cli-secrets"],
        ["touch", "s3://cli-secrets/f"],
        ["--json", "ls", "-l", "s3://cli-secrets/"],
        ["cat", "s3://cli-secrets/missing"],
        ["ls", "s3://no-such-bucket-x/"],
    ):
        done = await anyio.run_process(
            [sys.executable, "-m", "aios3fm", "--debug", *args], env=env, check=False
        )
        outputs += [done.stdout.decode(), done.stderr.decode()]
    everything = "\n".join(outputs)
    assert "Sending http request" in everything  # --debug logs every request
    assert "Traceback" in everything  # and shows the traceback of an error
    assert leaks(everything) == []
