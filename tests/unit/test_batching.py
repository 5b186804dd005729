"""Group commit (app.batching): concurrent submits share runs, each gets its own outcome."""

import asyncio

import pytest

from app.batching import Batcher


class Recorder:
    """A batch function that upper-cases items, refuses "bad" ones and keeps each batch."""

    def __init__(self, error: Exception | None = None) -> None:
        self.batches: list[list[str]] = []
        self.error = error

    async def __call__(self, items: list[str]) -> list[str | BaseException]:
        self.batches.append(items)
        await asyncio.sleep(0.01)  # a transaction's round trips
        if self.error is not None:
            raise self.error
        if "bad" in items and len(items) > 1:
            raise ValueError("the database refused one row")
        return [ValueError("bad item") if item == "bad" else item.upper() for item in items]


async def test_concurrent_submits_share_runs_and_keep_their_order() -> None:
    process = Recorder()
    batcher = Batcher("test", process)
    items = [f"item{i}" for i in range(50)]
    results = await asyncio.gather(*(batcher.submit(item) for item in items))
    assert results == [item.upper() for item in items]
    # the first item runs alone; the rest gathered while it ran
    assert len(process.batches) <= 3, [len(batch) for batch in process.batches]
    await batcher.close()


async def test_a_batch_that_fails_is_retried_one_item_at_a_time() -> None:
    process = Recorder()
    batcher = Batcher("test", process)
    blocker = asyncio.create_task(batcher.submit("first"))
    await asyncio.sleep(0)
    results = await asyncio.gather(
        *(batcher.submit(item) for item in ["a", "bad", "c"]), return_exceptions=True
    )
    assert await blocker == "FIRST"
    assert results[0] == "A" and results[2] == "C"
    assert isinstance(results[1], ValueError) and str(results[1]) == "bad item"
    assert process.batches == [["first"], ["a", "bad", "c"], ["a"], ["bad"], ["c"]]
    await batcher.close()


async def test_a_dependency_down_fails_the_batch_at_once() -> None:
    process = Recorder(error=ConnectionRefusedError("database down"))
    batcher = Batcher("test", process)
    results = await asyncio.gather(
        *(batcher.submit(item) for item in "abcd"), return_exceptions=True
    )
    assert all(isinstance(result, ConnectionRefusedError) for result in results)
    # no item-by-item retries against a database that is down
    assert sum(len(batch) for batch in process.batches) == 4
    await batcher.close()


async def test_a_caller_that_goes_away_leaves_the_others_their_outcome() -> None:
    batcher = Batcher("test", Recorder())
    leaving = asyncio.create_task(batcher.submit("gone"))
    staying = asyncio.create_task(batcher.submit("stays"))
    await asyncio.sleep(0)
    leaving.cancel()
    assert await staying == "STAYS"
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert await batcher.submit("later") == "LATER"
    await batcher.close()


async def test_a_broken_batch_function_fails_its_callers_but_not_the_lane() -> None:
    calls: list[list[str]] = []

    async def one_outcome_too_few_at_first(items: list[str]) -> list[str | BaseException]:
        calls.append(items)
        outcomes: list[str | BaseException] = [item.upper() for item in items]
        return outcomes[:-1] if len(calls) == 1 else outcomes

    batcher = Batcher("test", one_outcome_too_few_at_first)
    with pytest.raises(ValueError):
        await batcher.submit("first")
    assert await batcher.submit("second") == "SECOND"
    await batcher.close()
