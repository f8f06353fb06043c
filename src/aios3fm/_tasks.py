"""A task group whose failure surfaces as the error itself, not an ExceptionGroup.

Callers of ``put``, ``delete_many`` and friends expect ``except NotFoundError`` to work;
when several children fail together (say, parts of one upload against a dead server)
the first non-cancellation error is raised and the others, alike in kind, are dropped.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskGroup

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["task_group"]


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    cancelled = anyio.get_cancelled_exc_class()
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        exc = pending.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            pending[:0] = exc.exceptions
        else:
            leaves.append(exc)
    real = [e for e in leaves if not isinstance(e, cancelled)]
    return (real or leaves)[0]


@asynccontextmanager
async def task_group() -> AsyncIterator[TaskGroup]:
    try:
        async with anyio.create_task_group() as tg:
            yield tg
    except BaseExceptionGroup as group:
        error = _first_error(group)
        raise error from error.__cause__
