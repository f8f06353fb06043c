"""The circuit breaker: against an endpoint that accepts connections and never answers (a
frozen server), a bulk job ends in about one retry_deadline, whatever its size, with every
item failed clearly; once the endpoint answers again, so does the client."""

from __future__ import annotations

from pathlib import Path

import anyio

from aios3fm import EmbeddedS3, FileManager, TransientError

from ..conftest import BUCKET, make_settings, u

CONCURRENCY, READ_TIMEOUT, DEADLINE = 8, 0.5, 2.0
N = 400


async def test_a_frozen_endpoint_fails_a_bulk_job_without_a_request_per_item(
    s3: EmbeddedS3, tmp_path: Path
) -> None:
    for i in range(N):
        (tmp_path / f"f{i:03d}").write_bytes(b"%d" % i)
    settings = make_settings(
        s3, concurrency=CONCURRENCY, read_timeout=READ_TIMEOUT, connect_timeout=READ_TIMEOUT,
        retry_deadline=DEADLINE, max_attempts=10, retry_base_delay=0.01, retry_max_delay=0.5,
    )  # fmt: skip
    async with FileManager(settings=settings) as fm:
        await fm.make_bucket(BUCKET)
        s3.reset_requests()
        s3.freeze()  # from now on, nothing is answered
        result = await fm.copy([tmp_path], u("up/"))
        sent = s3.requests.get("PutObject", 0)
        s3.thaw()
        assert len(result.failed) == N
        assert all(isinstance(i.error, TransientError) for i in result.failed)
        unsent = [i for i in result.failed if i.error.code == "EndpointUnreachable"]  # type: ignore[union-attr]
        assert len(unsent) > N // 2
        assert "the endpoint has failed every request for" in str(unsent[0].error)
        # without the breaker every item would try up to its deadline: thousands of
        # requests; with it, each slot tries for one deadline, then probes alone
        assert sent <= CONCURRENCY * (DEADLINE / READ_TIMEOUT + 2) + 10
        recovered: list[bool] = []
        refused: list[str | None] = []

        async def write_once_the_probe_is_due() -> None:
            try:
                await fm.write_bytes(u("after"), b"back")
            except TransientError as exc:  # not sent: the next probe is not due yet
                refused.append(exc.code)
            else:
                recovered.append(True)

        while not recovered:  # a probe goes through every retry_max_delay and is answered
            await write_once_the_probe_is_due()
            await anyio.sleep(0.05)
        assert set(refused) <= {"EndpointUnreachable"}
        assert await fm.client.get_bytes(BUCKET, "after") == b"back"
        assert not fm.client._transport.breaker.is_open
