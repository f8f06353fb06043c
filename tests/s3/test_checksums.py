"""Which checksums requests carry: the settings, else the AWS environment variables, else
the profile's keys, else ``when_required``; seen in the headers the server received."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aios3fm import EmbeddedS3, FileManager, Settings

from ..conftest import make_settings, plain_boto3

SUPPORTED, REQUIRED = "when_supported", "when_required"

# (setting, AWS_* variable, profile key) -> whether the request carries the checksum
CASES = [
    pytest.param(None, None, None, False, id="default-when-required"),
    pytest.param(SUPPORTED, None, None, True, id="setting"),
    pytest.param(None, SUPPORTED, None, True, id="environment"),
    pytest.param(None, None, SUPPORTED, True, id="profile"),
    pytest.param(REQUIRED, SUPPORTED, SUPPORTED, False, id="setting-over-environment"),
    pytest.param(None, REQUIRED, SUPPORTED, False, id="environment-over-profile"),
]


def with_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, variable: str | None,
    profile: str | None,
) -> None:  # fmt: skip
    config = tmp_path / "config"
    config.write_text(f"[default]\n{key} = {profile}\n" if profile else "[default]\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    if variable:
        monkeypatch.setenv(f"AWS_{key.upper()}", variable)


def explicit(s3: EmbeddedS3, **fields: object) -> Settings:
    """Settings with the server's credentials given, so the AWS configuration is read."""
    return make_settings(s3, access_key_id=s3.credentials.access_key_id,
                         secret_access_key=s3.credentials.secret_access_key, **fields)  # fmt: skip


def upload_checksum_sent(s3: EmbeddedS3) -> bool:
    headers = s3.last_headers("PutObject")
    crc = "x-amz-checksum-crc32" in headers
    assert crc == (headers.get("x-amz-sdk-checksum-algorithm") == "CRC32")
    return crc


def download_validated(s3: EmbeddedS3) -> bool:
    return s3.last_headers("GetObject").get("x-amz-checksum-mode") == "ENABLED"


RULES = [
    pytest.param("request_checksum_calculation", upload_checksum_sent, id="uploads"),
    pytest.param("response_checksum_validation", download_validated, id="downloads"),
]


@pytest.mark.parametrize(("rule", "seen"), RULES)
@pytest.mark.parametrize(("setting", "variable", "profile", "sent"), CASES)
async def test_checksum_rules_follow_setting_environment_then_profile(
    s3: EmbeddedS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rule: str,
    seen: Callable[[EmbeddedS3], bool], setting: str | None, variable: str | None,
    profile: str | None, sent: bool,
) -> None:  # fmt: skip
    with_profile(tmp_path, monkeypatch, rule, variable, profile)
    async with FileManager(settings=explicit(s3, **{rule: setting})) as fm:
        await fm.make_bucket("checksums")
        await fm.write_bytes("s3://checksums/a", b"x" * 100)
        assert await fm.read_bytes("s3://checksums/a") == b"x" * 100
    assert seen(s3) is sent


def test_checksum_rules_are_read_in_any_case_as_botocore_reads_them() -> None:
    given = Settings(request_checksum_calculation="WHEN_SUPPORTED")  # type: ignore[arg-type]
    assert given.request_checksum_calculation == SUPPORTED
    read = Settings.from_env({"AIOS3FM_RESPONSE_CHECKSUM_VALIDATION": "When_Required"})
    assert read.response_checksum_validation == REQUIRED


def test_a_checksum_rule_other_than_the_two_is_refused() -> None:
    with pytest.raises(ValueError, match="request_checksum_calculation must be"):
        Settings(request_checksum_calculation="always")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="response_checksum_validation must be"):
        Settings.from_env({"AIOS3FM_RESPONSE_CHECKSUM_VALIDATION": "sometimes"})


async def test_deletes_carry_content_md5_for_servers_that_demand_it(
    fm: FileManager, bucket: str, s3: EmbeddedS3
) -> None:
    """An older server refuses DeleteObjects without Content-MD5 (botocore >= 1.36 sends
    a CRC32 only): the batch delete, the move and rm all still work against it."""
    s3.require_content_md5 = True
    for i in range(3):
        await fm.write_bytes(f"s3://{bucket}/md5/{i}", b"%d" % i)
    moved = await fm.move(f"s3://{bucket}/md5/", f"s3://{bucket}/moved/")
    assert (moved.objects, moved.counts["failed"]) == (3, 0)
    headers = s3.last_headers("DeleteObjects")
    assert "content-md5" in headers
    assert "x-amz-checksum-crc32" in headers
    deleted = await fm.delete(f"s3://{bucket}/moved/")
    assert (deleted.objects, deleted.counts["failed"]) == (3, 0)
    assert [o async for page in fm.client.list_tree(bucket, "") for o in page] == []


async def test_the_server_that_demands_content_md5_refuses_a_delete_without_it(
    s3: EmbeddedS3,
) -> None:
    """The switch itself, seen from a plain client that does not add the header."""
    s3.require_content_md5 = True
    raw = plain_boto3(s3)
    raw.create_bucket(Bucket="md5-demanded")
    raw.put_object(Bucket="md5-demanded", Key="k", Body=b"v")
    with pytest.raises(raw.exceptions.ClientError, match="MissingContentMD5"):
        raw.delete_objects(Bucket="md5-demanded", Delete={"Objects": [{"Key": "k"}]})
    assert raw.get_object(Bucket="md5-demanded", Key="k")["Body"].read() == b"v"
