"""Single-flight: concurrent callers asking for the same entry share one call.

The call runs in a task of its own, owned by the SingleFlight (closed with it), not in
any caller's task: a caller that is cancelled, the first one included, just stops
waiting, and the call goes on for the others. When every caller has gone, the call is
forgotten at once (the next caller starts a fresh one, never inheriting a cancellation)
and then cancelled, since nobody wants its answer. A failed call fails every waiter with
the same exception; whatever it would have cached is the caller's fn's business.

Each call begins with a ticket (``begin``, the cache's fill ticket) and a caller joins a
call in flight only if ``joinable(ticket)`` says its answer cannot predate a change the
caller must see; otherwise it starts a call of its own, and the older one finishes for
the callers it already has. ``end(ticket)`` runs once the call is over, however it ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["SingleFlight"]

T = TypeVar("T")
M = TypeVar("M")


class _Flight(Generic[T, M]):
    __slots__ = ("future", "task", "ticket", "waiters")

    def __init__(self, future: asyncio.Future[T], ticket: M) -> None:
        self.future = future
        self.ticket = ticket
        self.task: asyncio.Task[None] | None = None
        self.waiters = 0


class SingleFlight(Generic[M]):
    def __init__(self, begin: Callable[[], M], end: Callable[[M], None]) -> None:
        self._begin = begin
        self._end = end
        self._flights: dict[Hashable, _Flight[Any, M]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.coalesced = 0
        self.joins_refused = 0

    def __repr__(self) -> str:
        return (
            f"<SingleFlight in_flight={len(self._flights)} coalesced={self.coalesced} "
            f"joins_refused={self.joins_refused}>"
        )

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    async def run(
        self,
        key: Hashable,
        fn: Callable[[M], Awaitable[T]],
        *,
        joinable: Callable[[M], bool] | None = None,
    ) -> T:
        """``fn(ticket)``'s result, from the call in flight for ``key`` when
        ``joinable(ticket)`` allows (``None``: never join), else from a new call."""
        found: _Flight[T, M] | None = self._flights.get(key)
        if found is not None and (joinable is None or not joinable(found.ticket)):
            self.joins_refused += 1
            found = None
        if found is None:
            flight = self._start(key, fn)
        else:
            flight = found
            self.coalesced += 1
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.future)
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.future.done():
                # nobody wants the answer: forget the call now, so that a caller arriving
                # before the cancellation lands starts its own instead of inheriting it
                if self._flights.get(key) is flight:
                    del self._flights[key]
                if flight.task is not None:
                    flight.task.cancel()

    def _start(self, key: Hashable, fn: Callable[[M], Awaitable[T]]) -> _Flight[T, M]:
        loop = asyncio.get_running_loop()
        ticket = self._begin()
        flight: _Flight[T, M] = _Flight(loop.create_future(), ticket)
        self._flights[key] = flight
        task = loop.create_task(self._lead(key, flight, fn))
        flight.task = task
        self._tasks.add(task)
        # runs however the task ends, also when it is cancelled before its first step
        task.add_done_callback(lambda done: self._finish(key, flight, done))
        return flight

    def _finish(self, key: Hashable, flight: _Flight[Any, M], task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.future.done():  # cancelled before it began: _lead never ran
            _fail(flight)
        self._end(flight.ticket)

    async def _lead(
        self, key: Hashable, flight: _Flight[T, M], fn: Callable[[M], Awaitable[T]]
    ) -> None:
        try:
            result = await fn(flight.ticket)
        except asyncio.CancelledError:
            _fail(flight)
            raise
        except BaseException as exc:
            flight.future.set_exception(exc)
            if flight.waiters == 0:
                flight.future.exception()  # nobody left to retrieve it: no "never retrieved"
        else:
            flight.future.set_result(result)
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]

    async def aclose(self) -> None:
        """Cancel the calls still in flight and wait for them to finish."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def _fail(flight: _Flight[Any, Any]) -> None:
    """A call cancelled under its waiters (the cache closed): a clear error for them, not a
    stray cancellation; with nobody waiting, the future is just cancelled."""
    if flight.waiters:
        flight.future.set_exception(RuntimeError("the cache was closed during the call"))
    else:
        flight.future.cancel()
