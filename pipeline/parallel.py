"""Worker processes for the CPU-bound stages (parsing, extraction) beside one DuckDB writer.

The writing process hands chunks of work to a pool and takes the results back in the order it
handed them out, so a run with N workers loads exactly what a run with one would, in the same
order. At most a few chunks per worker are in flight, so memory stays bounded by them.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from pipeline.errors import PipelineError

T = TypeVar("T")
R = TypeVar("R")

CHUNKS_IN_FLIGHT_PER_WORKER = 2
WRITER_CHECK_SECONDS = 1.0  # how often a worker checks that the process that started it runs


def default_workers() -> int:
    """The number of cores this process may use (the default of `--workers`)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_workers(workers: int) -> int:
    """`workers` when it is a positive whole number, else a PipelineError."""
    if not isinstance(workers, int) or workers < 1:
        raise PipelineError(f"the number of workers must be a positive whole number, not {workers}")
    return workers


@contextmanager
def worker_pool(workers: int) -> Iterator[Executor | None]:
    """A pool of `workers` processes, or None for one worker (the work then runs in-process).

    Workers are started with `spawn`, so they share nothing with the writer's open DuckDB
    connection or its threads.
    """
    check_workers(workers)
    if workers == 1:
        yield None
        return
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_end_with_the_writer,
        initargs=(os.getpid(),),
    )
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _end_with_the_writer(writer_pid: int) -> None:
    """Worker start-up: end this worker once the process that started it is gone (killed with
    SIGKILL, say); a worker would otherwise wait for work that never comes, for ever."""

    def watch() -> None:
        while os.getppid() == writer_pid:
            time.sleep(WRITER_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-the-writer", daemon=True).start()


def ordered_map(
    pool: Executor | None,
    function: Callable[[T], R],
    items: Iterable[T],
    *,
    in_flight: int | None = None,
) -> Iterator[R]:
    """`map(function, items)` on the pool, results in input order, a bounded number in flight.

    Without a pool the items are processed one by one in this process. `items` is read lazily:
    only as far ahead as the chunks in flight.
    """
    if pool is None:
        for item in items:
            yield function(item)
        return
    limit = in_flight or CHUNKS_IN_FLIGHT_PER_WORKER * getattr(pool, "_max_workers", 2)
    pending: deque[Future] = deque()
    iterator = iter(items)
    try:
        while True:
            try:
                item = next(iterator)
            except StopIteration:
                break
            except BaseException:
                # The input failed (a truncated stream): what was handed out before comes out
                # first, then the error.
                while pending:
                    yield pending.popleft().result()
                raise
            pending.append(pool.submit(function, item))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
