"""How the steps of a run are run without Prefect: on a thread pool (``run_plain``) or one after the
other in the calling thread (``run_inline``, one report file). The Prefect executor is in
flows/prefect_flow.py."""
from __future__ import annotations

import concurrent.futures as cf

from flows import pools, steps, stopping


class PlainExecutor:
    """Runs the step functions on a thread pool (no Prefect)."""
    def __init__(self, workers: int):
        self.pool = cf.ThreadPoolExecutor(max_workers=max(1, workers) + 1)   # parse window + the gate
        self.futures: list[cf.Future] = []

    def submit(self, fn, **kw):
        f = self.pool.submit(fn, **kw)
        self.futures.append(f)
        return f

    def settle(self, wait: bool) -> None:
        """Cancel the tasks not started; with ``wait``, wait for those running."""
        for f in self.futures:
            f.cancel()
        if wait:
            cf.wait(self.futures)

    def stopped(self, exc: BaseException) -> None:
        pass

    def call(self, fn, **kw):
        return fn(**kw)

    def as_completed(self, futures):
        return cf.as_completed(futures)

    def close(self):
        self.pool.shutdown(wait=stopping.received() is None, cancel_futures=True)   # stopped: abandoned


class InlineExecutor(PlainExecutor):
    """Runs each step where it is submitted, in the calling thread (no Prefect, no thread pool of
    steps): a run of one file has little to overlap, and a pool only adds hand-offs. The exception:
    a parse handed to a worker process is waited for on a thread, so that this thread can do
    something else meanwhile (``RunConfig.gate_while_parsing``). A step's exception is kept in its
    future, as a pool would; a stop signal (BaseException) goes straight up."""
    def __init__(self):
        self.futures: list[cf.Future] = []
        self.waiter: cf.ThreadPoolExecutor | None = None

    def submit(self, fn, **kw):
        if fn is steps.parse_step and kw.get("pool_key") in pools.POOLS:
            if self.waiter is None:
                self.waiter = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="nianbao-parse")
            return self.waiter.submit(fn, **kw)
        f = cf.Future()
        try:
            f.set_result(fn(**kw))
        except Exception as e:
            f.set_exception(e)
        return f

    def settle(self, wait: bool) -> None:
        pass

    def close(self):
        if self.waiter is not None:
            self.waiter.shutdown(wait=stopping.received() is None, cancel_futures=True)
