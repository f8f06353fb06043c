"""The BatchedInvalidator's plan: events grouped by bucket, deduplicated, inner prefixes
dropped for the outer ones, and keys a prefix of the same batch covers dropped."""

from __future__ import annotations

from aios3fm import ChangeEvent
from aios3fm._cache._invalidator import _plan


def test_events_are_grouped_by_bucket_and_deduplicated() -> None:
    plan = _plan(
        [
            ChangeEvent("a", written=("x", "y")),
            ChangeEvent("b", deleted=("x",)),
            ChangeEvent("a", written=("x",), deleted=("z",)),
        ]
    )
    assert plan == {"a": (["x", "y", "z"], [], 0), "b": (["x"], [], 0)}


def test_only_the_outermost_prefixes_are_kept() -> None:
    plan = _plan([ChangeEvent("a", prefixes=("d/e/", "d", "d/e/f/", "g/", "dd/"))])
    assert plan == {"a": ([], ["d/", "dd/", "g/"], 0)}


def test_keys_under_a_prefix_of_the_same_batch_are_dropped_and_counted() -> None:
    plan = _plan(
        [
            ChangeEvent("a", written=("d/x", "d/e/y", "dx", "other")),
            ChangeEvent("a", prefixes=("d/",)),
            ChangeEvent("b", written=("d/x",)),  # another bucket's prefix covers nothing
        ]
    )
    assert plan == {"a": (["dx", "other"], ["d/"], 2), "b": (["d/x"], [], 0)}


def test_the_bucket_root_prefix_covers_every_key() -> None:
    plan = _plan([ChangeEvent("a", written=("x", "d/y"), prefixes=("",))])
    assert plan == {"a": ([], [""], 2)}


def test_an_event_with_nothing_changed_plans_nothing_for_its_bucket() -> None:
    assert _plan([ChangeEvent("a")]) == {}
    assert _plan([]) == {}
