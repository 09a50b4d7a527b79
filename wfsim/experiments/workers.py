"""Worker processes for a batch, each running one run at a time; a worker that dies
costs only the run it held.

``concurrent.futures.ProcessPoolExecutor`` declares the whole pool broken when one
worker dies (killed, out of memory) and fails every run in flight with it. Here each
worker has its own pipe and the parent waits on all of them: a dead worker's pipe
reads end-of-file, a new worker takes its place, and its run is tried again after the
others queued; a run whose worker dies :data:`MAX_DEATHS` times is recorded as failed,
so that a run that kills its worker cannot stall a batch.

Workers fork from a server process that imported the simulator once (``forkserver``,
where the platform has it; else they are spawned). They ignore SIGINT (the parent
stops them), and exit when the parent has died.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from types import TracebackType

from wfsim.experiments.scenarios import RunOutcome, RunSpec, run_one

#: Deaths of its worker after which a run is recorded as failed.
MAX_DEATHS = 2
#: What the worker server imports once, so that each worker starts warm: the simulator,
#: and the batch machinery, which a main module that a worker imports again
#: (``multiprocessing``'s rule) has likely imported too.
_PRELOAD = ["wfsim.experiments.scenarios", "wfsim.experiments.building", "wfsim.experiments.batch"]

#: One job: a run and where its trace goes (None: nowhere).
Job = tuple[RunSpec, "str | None"]


class WorkerPool:
    """Up to ``processes`` worker processes; use as a context manager.

    Attributes:
        running: Process id → the key of the run it holds (for observers: tests
            kill workers through it).
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.running: dict[int, str] = {}
        self._context = _context()
        self._workers: list[tuple[BaseProcess, Connection]] = []

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for process, conn in self._workers:
            if kind is None:
                with contextlib.suppress(OSError):
                    conn.send(None)  # done: exit when idle
            else:
                process.terminate()  # interrupted: what runs is lost, what finished was yielded
        for process, conn in self._workers:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
            conn.close()
        self._workers.clear()

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[int, RunOutcome]]:
        """Run every job; yield ``(its index in jobs, outcome)`` as each finishes."""
        queue = deque(range(len(jobs)))
        deaths = [0] * len(jobs)
        idle: list[tuple[BaseProcess, Connection]] = []
        busy: dict[Connection, tuple[BaseProcess, int]] = {}
        while queue or busy:
            while queue and len(busy) < self.processes:
                process, conn = idle.pop() if idle else self._start()
                index = queue.popleft()
                try:
                    conn.send(jobs[index])
                except OSError:  # it died idle: not this run's doing
                    self._discard(process, conn)
                    queue.appendleft(index)
                    continue
                busy[conn] = (process, index)
                self.running[process.pid or 0] = jobs[index][0].key
            for ready in wait(list(busy)):
                conn = ready  # type: ignore[assignment]  # wait returns what it was given
                process, index = busy.pop(conn)
                self.running.pop(process.pid or 0, None)
                try:
                    outcome = conn.recv()
                except (EOFError, OSError):
                    self._discard(process, conn)
                    deaths[index] += 1
                    if deaths[index] < MAX_DEATHS:
                        queue.append(index)
                        continue
                    outcome = _died(jobs[index][0], process.exitcode, deaths[index])
                else:
                    idle.append((process, conn))
                yield index, outcome

    def _discard(self, process: BaseProcess, conn: Connection) -> None:
        process.join()
        self._workers.remove((process, conn))
        conn.close()

    def _start(self) -> tuple[BaseProcess, Connection]:
        mine, theirs = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(theirs, os.getpid()), daemon=True)
        process.start()
        theirs.close()  # the worker holds the other end: its death is this end's end-of-file
        self._workers.append((process, mine))
        return process, mine


def warm_up() -> None:
    """Start the worker server now: it imports the simulator while the batch is being
    planned, and the first workers start as soon as they are needed."""
    if _context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _died(spec: RunSpec, exitcode: int | None, deaths: int) -> RunOutcome:
    how = (f"killed by {signal.Signals(-exitcode).name}" if exitcode is not None and exitcode < 0
           else f"exit status {exitcode}")
    return RunOutcome(spec.scenario, spec.replication, spec.seed, "failed",
                      error=f"WorkerDied: its worker process died {deaths} times while running it, the last "
                            f"{how} (out of memory?)")


def _context() -> ForkServerContext | SpawnContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def _serve(conn: Connection, parent: int) -> None:
    """A worker: run each job received, send back its outcome; stop on None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        spec, trace_dir = job
        conn.send(run_one(spec, trace_dir))


def _watch(parent: int) -> None:
    """Exit when the batch process is gone (killed: no one would read the outcome)."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass
