"""Settings: defaults, environment, validation, and no secret in a repr."""

from __future__ import annotations

import pytest

from aios3fm import GiB, MiB, Settings


def test_defaults() -> None:
    s = Settings()
    assert (s.concurrency, s.multipart_threshold, s.multipart_chunksize) == (64, 8 * MiB, 8 * MiB)
    assert (s.copy_threshold, s.endpoint_url, s.region) == (5 * GiB, None, None)


def test_from_env_reads_aios3fm_variables_and_endpoint() -> None:
    s = Settings.from_env(
        {
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
            "AIOS3FM_CONCURRENCY": "16",
            "AIOS3FM_MULTIPART_THRESHOLD": "16MiB",
            "AIOS3FM_COPY_THRESHOLD": "1g",
            "AIOS3FM_READ_TIMEOUT": "2.5",
            "AIOS3FM_REGION": "eu-west-1",
            "AIOS3FM_SECRET_ACCESS_KEY": "never-read-from-here",
        }
    )
    assert s.endpoint_url == "http://127.0.0.1:9000"
    assert (s.concurrency, s.multipart_threshold, s.copy_threshold) == (16, 16 * MiB, GiB)
    assert (s.read_timeout, s.region, s.secret_access_key) == (2.5, "eu-west-1", None)


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ValueError, match="AIOS3FM_CONCURRENCY='many'"):
        Settings.from_env({"AIOS3FM_CONCURRENCY": "many"})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("concurrency", 0, "concurrency"),
        ("multipart_chunksize", MiB, "5 MiB"),
        ("copy_chunksize", MiB, "5 MiB"),
        ("max_attempts", 0, "max_attempts"),
        ("multipart_threshold", -1, "negative"),
    ],
)
def test_invalid_values_are_refused(field: str, value: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings().replace(**{field: value})


def test_replace_ignores_none_and_repr_hides_credentials() -> None:
    s = Settings(access_key_id="AKIAEXAMPLE", secret_access_key="shh").replace(
        concurrency=8, region=None
    )
    assert (s.concurrency, s.region) == (8, None)
    assert "AKIAEXAMPLE" not in repr(s)
    assert "shh" not in repr(s)
