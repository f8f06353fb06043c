"""Nothing blocks the event loop while a new FileManager opens and makes its first
requests: every file the process reads then, and every directory it lists, is read from
a worker thread. Checked in a fresh interpreter (botocore's caches cold) with an audit
hook that records the file-system events raised on the event loop's thread while the
loop runs, except the import system's own reads of modules imported on first use."""

from __future__ import annotations

import json
import subprocess
import sys

from aios3fm import EmbeddedS3

PROBE = r"""
import asyncio, json, sys
from aios3fm import FileManager

FILE_EVENTS = {"open", "os.listdir", "os.scandir", "os.walk", "glob.glob", "shutil.copyfile"}
seen = []
watching = False

def importing():
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False

def hook(event, args):
    if not watching or event not in FILE_EVENTS:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # a worker thread: that is where file I/O belongs
        return
    if not importing():
        seen.append([event, str(args[0])])

sys.addaudithook(hook)

async def main(endpoint):
    global watching
    watching = True
    async with FileManager(endpoint_url=endpoint) as fm:
        await fm.make_bucket("loop-probe")
        await fm.write_bytes("s3://loop-probe/a/b.txt", b"data")
        entries = await fm.listdir("s3://loop-probe/a/")
        assert [e.name for e in entries] == ["b.txt"]
    watching = False

asyncio.run(main(sys.argv[1]))
print(json.dumps(seen))
"""


def test_the_first_requests_of_a_new_file_manager_do_no_file_io_on_the_loop(
    s3: EmbeddedS3,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, s3.endpoint_url],
        capture_output=True, text=True, check=False, timeout=120, env=s3.environ(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
