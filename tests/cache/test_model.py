"""Hypothesis stateful test: interleaved writes, deletes, listings, stats, invalidations
and clock jumps against a plain dict model. Every write goes to the server over HTTP and
is then invalidated, as the write paths do; after that, no read may contradict the model."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from aios3fm import EmbeddedS3, FileManager, NotFoundError
from aios3fm._cache import parent_dir

from ..conftest import Clock, make_settings

T = TypeVar("T")
BKT = "model-bucket"
DIRS = ["", "a/", "a/b/", "c/"]
FILES = st.sampled_from([d + n for d in DIRS for n in ("x", "y")])
MARKERS = st.sampled_from(["a/", "a/b/", "c/"])
PATHS = st.sampled_from([d + n for d in DIRS for n in ("x", "y", "b", "none")] + DIRS[1:])


class CacheModel(RuleBasedStateMachine):
    server: EmbeddedS3

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = Clock()
        self.server.reset()
        self.fm = FileManager(settings=make_settings(self.server), clock=self.clock)
        self.run(self.fm.__aenter__())
        self.run(self.fm.make_bucket(BKT))
        self.model: dict[str, bytes] = {}

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.fm.__aexit__(None, None, None))
        self.loop.close()

    # -- the model ------------------------------------------------------------------------

    def model_children(self, directory: str) -> tuple[set[str], set[str]]:
        files, dirs = set(), set()
        for key in self.model:
            if not key.startswith(directory) or key == directory:
                continue
            rest = key[len(directory) :]
            if "/" in rest:
                dirs.add(rest.split("/", 1)[0])
            else:
                files.add(rest)
        return files, dirs

    def model_is_dir(self, path: str) -> bool:
        prefix = path if path.endswith("/") else path + "/"
        return any(key.startswith(prefix) for key in self.model)

    # -- writes, each followed by its invalidation -----------------------------------------

    @rule(key=FILES, size=st.integers(0, 3))
    def write(self, key: str, size: int) -> None:
        data = key.encode() * size
        self.run(self.fm.client.put(BKT, key, data))
        self.fm.cache.invalidate_key(BKT, key)
        self.model[key] = data

    @rule(key=MARKERS)
    def make_marker(self, key: str) -> None:
        self.run(self.fm.client.put(BKT, key, b""))
        self.fm.cache.invalidate_key(BKT, key)
        self.model[key] = b""

    @rule(key=st.one_of(FILES, MARKERS))
    def delete(self, key: str) -> None:
        self.run(self.fm.client.delete(BKT, key))
        self.fm.cache.invalidate_key(BKT, key)
        self.model.pop(key, None)

    @rule(prefix=st.sampled_from(["a/", "a/b/", "c/"]))
    def delete_tree(self, prefix: str) -> None:
        keys = [k for k in self.model if k.startswith(prefix)]
        self.run(self.fm.client.delete_many(BKT, keys))
        self.fm.cache.invalidate_prefix(BKT, prefix)
        for key in keys:
            del self.model[key]

    # -- things that must not change what is read -------------------------------------------

    @rule(path=PATHS)
    def invalidate_key_alone(self, path: str) -> None:
        self.fm.cache.invalidate_key(BKT, path)

    @rule(prefix=st.sampled_from(["", "a", "a/", "c/"]))
    def invalidate_prefix_alone(self, prefix: str) -> None:
        self.fm.cache.invalidate_prefix(BKT, prefix)

    @rule()
    def invalidate_bucket(self) -> None:
        self.fm.cache.invalidate_bucket(BKT)

    @rule(seconds=st.sampled_from([0.5, 4.0, 30.0, 61.0]))
    def advance_clock(self, seconds: float) -> None:
        self.clock.now += seconds

    # -- reads ----------------------------------------------------------------------------

    @rule(directory=st.sampled_from(DIRS))
    def listdir(self, directory: str) -> None:
        files, dirs = self.model_children(directory)
        try:
            entries = self.run(self.fm.listdir(f"s3://{BKT}/{directory}"))
        except NotFoundError:
            assert directory
            assert not self.model_is_dir(directory)
            return
        assert {e.name for e in entries if not e.is_dir} == files
        assert {e.name for e in entries if e.is_dir} == dirs

    @rule(path=PATHS)
    def stat(self, path: str) -> None:
        is_file = path in self.model and not path.endswith("/")
        is_dir = self.model_is_dir(path)
        assert self.run(self.fm.exists(f"s3://{BKT}/{path}")) == (is_file or is_dir)
        assert self.run(self.fm.is_file(f"s3://{BKT}/{path}")) == is_file
        assert self.run(self.fm.is_dir(f"s3://{BKT}/{path}")) == is_dir
        if is_file:
            info = self.run(self.fm.stat(f"s3://{BKT}/{path}"))
            assert (info.size, info.is_dir) == (len(self.model[path]), False)

    @invariant()
    def store_invariants_hold(self) -> None:
        self.fm.cache.store.check_invariants()
        assert parent_dir("a/b/x") == "a/b/"


@pytest.mark.timeout(900)  # a failure is shrunk over HTTP: give it room to print the example
def test_cache_never_contradicts_the_model(s3_server: EmbeddedS3) -> None:
    class Machine(CacheModel):
        server = s3_server

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=40, stateful_step_count=40, deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )  # fmt: skip
