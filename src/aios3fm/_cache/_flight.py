"""Single-flight: concurrent callers asking for the same key share one call.

The call runs in a task of its own, owned by the SingleFlight (closed with it), not in
any caller's task: a caller that is cancelled, the first one included, just stops
waiting, and the call goes on for the others. Only when every caller has gone is the
call cancelled, since nobody wants its answer. A failed call fails every waiter with the
same exception; whatever it would have cached is the caller's fn's business.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["SingleFlight"]

T = TypeVar("T")


class _Flight(Generic[T]):
    __slots__ = ("future", "task", "waiters")

    def __init__(self, future: asyncio.Future[T]) -> None:
        self.future = future
        self.task: asyncio.Task[None] | None = None
        self.waiters = 0


class SingleFlight:
    def __init__(self) -> None:
        self._flights: dict[Hashable, _Flight[Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.coalesced = 0

    def __repr__(self) -> str:
        return f"<SingleFlight in_flight={len(self._flights)} coalesced={self.coalesced}>"

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    async def run(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> T:
        flight: _Flight[T] | None = self._flights.get(key)
        if flight is None:
            loop = asyncio.get_running_loop()
            flight = _Flight(loop.create_future())
            self._flights[key] = flight
            task = loop.create_task(self._lead(key, flight, fn))
            flight.task = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self.coalesced += 1
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.future)
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.future.done() and flight.task is not None:
                flight.task.cancel()  # every caller has gone: nobody wants the answer

    async def _lead(
        self, key: Hashable, flight: _Flight[T], fn: Callable[[], Awaitable[T]]
    ) -> None:
        try:
            result = await fn()
        except asyncio.CancelledError:
            if flight.waiters:  # closed under them: a clear error, not a stray cancellation
                flight.future.set_exception(RuntimeError("the cache was closed during the call"))
            else:
                flight.future.cancel()
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
