"""Group commit: requests that arrive together are handled by one call of a batch function.

Reserving decisions each need a ledger write transaction, and on SQLite the commit (and the
decision log's write) costs more than the decision. :class:`Batcher` queues the requests that
arrive while the previous group is being handled and hands them over together, so one
transaction and one log write serve the lot. Every request is answered only after its group's
call returned (the transaction committed and the log record written): batching changes nothing
in what an acknowledgement promises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """Calls ``work`` with the items submitted together; each submitter gets its own result.

    ``work`` gets a list of items and returns one result per item, in order; if it raises, each
    submitter of that group gets the exception. ``inline`` runs ``work`` on the event loop (a
    SQLite ledger: the group is what arrived in one turn of the loop); otherwise in a worker
    thread (a ledger on the network: the group is what arrived while the previous one was
    being written). At most ``most`` items go in one group, to bound a request's wait.
    """

    def __init__(self, work: Callable[[list[Item]], list[Result]], *, inline: bool,
                 most: int = 256):
        self._work = work
        self._inline = inline
        self._most = most
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._running = False
        self._task: asyncio.Task[None] | None = None  # kept: the loop holds tasks weakly

    async def submit(self, item: Item) -> Result:
        """Queue ``item`` and wait for its result (or its group's exception)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._pending.append((item, future))
        if not self._running:
            self._running = True
            if self._inline:
                loop.call_soon(self._flush_inline)
            else:
                self._task = loop.create_task(self._drain())
        return await future

    def _take(self) -> list[tuple[Item, asyncio.Future[Result]]]:
        taken, self._pending = self._pending[:self._most], self._pending[self._most:]
        return taken

    def _flush_inline(self) -> None:
        taken = self._take()
        try:
            results = self._work([item for item, _ in taken])
        except Exception as err:  # the group's failure is each of its requests' failure
            _settle(taken, None, err)
        else:
            _settle(taken, results, None)
        if self._pending:
            asyncio.get_running_loop().call_soon(self._flush_inline)
        else:
            self._running = False

    async def _drain(self) -> None:
        try:
            while self._pending:
                taken = self._take()
                try:
                    results = await run_in_threadpool(self._work, [item for item, _ in taken])
                except Exception as err:
                    _settle(taken, None, err)
                else:
                    _settle(taken, results, None)
        finally:
            self._running = False


def _settle(taken: list[tuple[Item, asyncio.Future[Result]]], results: list[Result] | None,
            error: Exception | None) -> None:
    for index, (_, future) in enumerate(taken):
        if future.done():  # its request was cancelled (the client went away)
            continue
        if results is None:
            future.set_exception(error if error is not None else RuntimeError("no result"))
        else:
            future.set_result(results[index])
