"""aios3fm/__init__.py is the whole public surface: __all__ lists exactly what it exports."""

import types

import aios3fm


def test_all_lists_every_public_name() -> None:
    public = {
        name
        for name, value in vars(aios3fm).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(aios3fm.__all__)
    assert len(aios3fm.__all__) == len(set(aios3fm.__all__))


def test_public_objects_say_they_are_from_aios3fm() -> None:
    for name in aios3fm.__all__:
        value = getattr(aios3fm, name)
        if isinstance(value, type):
            assert value.__module__.startswith("aios3fm."), name
