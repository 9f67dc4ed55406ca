"""The supervisor of ``skp serve --workers N``: N worker processes on shared sockets.

One process cannot use more than about one core (the GIL), so ``skp serve`` on PostgreSQL
runs ``SKP_WORKERS`` worker processes (by default one per CPU). The supervisor:

- binds the listening sockets (the hub's and, when it is on, the portal's) and starts each
  worker as a new interpreter (``python -m skp serve --worker …``) that inherits them
  (skp.server.sockets): the kernel hands each new connection to whichever worker accepts it
  first, and since the supervisor keeps the sockets open no connection is refused while
  workers come and go;
- waits for each worker to say it is ready (a byte on a pipe of its own), and at start-up
  fails if one exits first;
- starts a worker again when one dies (after a pause that grows while they keep dying at
  start-up, up to :data:`MOST_PAUSE`);
- on SIGTERM or SIGINT closes the sockets and stops the workers: each finishes its requests
  in flight (``SKP_DRAIN_TIMEOUT``), then exits; one still busy after that is killed;
- on SIGHUP replaces the workers one at a time: a new one (new code, new certificates) is
  ready before the old one is stopped, so the number of workers serving never drops by more
  than the one that is draining.

Scheduled jobs (the purge) are not the workers' business: the caller runs them in the
supervisor, in exactly one place. The workers count their metrics into one directory of the
run (skp.metrics.share), which the supervisor removes when it stops.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

log = logging.getLogger("skp.server")

#: Seconds a new worker has to get ready.
START_TIMEOUT = 120.0
#: A worker that dies sooner than this after its start counts as failing to start.
EARLY = 10.0
#: The longest pause before a worker that keeps failing to start is started again.
MOST_PAUSE = 30.0
#: How often the supervisor looks at its workers.
_TICK = 0.1


class WorkerFailed(Exception):
    """A worker exited before it was ready."""

    def __init__(self, pid: int, code: int | None) -> None:
        super().__init__(f"worker process {pid} exited with {code} before it was ready")
        self.pid, self.code = pid, code


@dataclass(eq=False)
class Worker:
    """A worker process and the read end of the pipe it says it is ready on."""

    process: subprocess.Popen[bytes]
    ready: int
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid


class Supervisor:
    """Runs ``count`` workers: ``command(ready_fd, slot)`` is the command line of the one in
    ``slot`` (0 to ``count`` - 1; a worker started again, or in place of another, takes its
    slot), to be started with the ``listening`` sockets and ``ready_fd`` inherited;
    ``exited(pid)`` is told of every worker that has exited."""

    def __init__(self, command: Callable[[int, int], Sequence[str]],
                 listening: Sequence[socket.socket], count: int, *, drain: float,
                 exited: Callable[[int], None] = lambda pid: None) -> None:
        self._command, self._count = command, count
        self._listening = tuple(listening)
        self._fds = tuple(sock.fileno() for sock in listening)
        self._drain, self._exited = drain, exited
        self.workers: list[Worker] = []
        self._stopping = False
        self._replace = False
        self._failures = 0  # workers in a row that died early
        self._previous: dict[int, signal.Handlers | Callable[..., object] | int | None] = {}

    # --- signals ---------------------------------------------------------------------------

    def install(self) -> None:
        """Take SIGTERM, SIGINT and SIGHUP: the handlers only set a flag for :meth:`run`."""
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self._previous[signum] = signal.signal(signum, self._signalled)

    def _signalled(self, signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self._replace = True
        else:
            self._stopping = True

    # --- life ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every worker and wait until all are ready; :class:`WorkerFailed` (with the
        others stopped) when one exits first."""
        starting = [self._spawn(slot) for slot in range(self._count)]
        try:
            for worker in starting:
                self._await(worker)
                self.workers.append(worker)
        except BaseException:
            for worker in starting:
                self._end(worker, signal.SIGKILL)
            raise

    def run(self) -> None:
        """Keep the workers running until SIGTERM or SIGINT, then stop them."""
        try:
            while not self._stopping:
                if self._replace:
                    self._replace = False
                    self._replace_all()
                self._restart_the_dead()
                time.sleep(_TICK)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop every worker: each finishes its requests in flight, or is killed after
        ``drain`` seconds and a margin. New connections are refused from now on."""
        for sock in self._listening:
            sock.close()
        for worker in self.workers:
            with contextlib.suppress(ProcessLookupError):
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self._drain + 5
        for worker in self.workers:
            try:
                worker.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.warning("worker killed: still busy after the drain timeout",
                            extra={"pid": worker.pid})
                worker.process.kill()
                worker.process.wait()
            self._gone(worker)
        self.workers = []
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    # --- workers ---------------------------------------------------------------------------

    def _spawn(self, slot: int) -> Worker:
        ready, tell = os.pipe()
        try:
            process = subprocess.Popen(self._command(tell, slot),  # noqa: S603  # our own command
                                       pass_fds=(*self._fds, tell))
        finally:
            os.close(tell)
        log.info("worker started", extra={"pid": process.pid, "slot": slot})
        return Worker(process, ready)

    def _await(self, worker: Worker) -> None:
        """Wait until ``worker`` is ready; :class:`WorkerFailed` if it exits first."""
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._end(worker, signal.SIGKILL)
                    raise WorkerFailed(worker.pid, None)
                readable, _, _ = select.select([worker.ready], [], [], min(left, 1.0))
                if readable:
                    if os.read(worker.ready, 1):
                        return
                    code = worker.process.wait(timeout=START_TIMEOUT)
                    raise WorkerFailed(worker.pid, code)
        finally:
            os.close(worker.ready)

    def _end(self, worker: Worker, signum: int) -> None:
        """Send ``signum`` to ``worker`` and wait for it to exit; killed when it takes
        longer than the drain timeout and a margin."""
        with contextlib.suppress(ProcessLookupError):
            worker.process.send_signal(signum)
        try:
            worker.process.wait(timeout=self._drain + 5)
        except subprocess.TimeoutExpired:
            log.warning("worker killed: still busy after the drain timeout",
                        extra={"pid": worker.pid})
            worker.process.kill()
            worker.process.wait()

    def _gone(self, worker: Worker) -> None:
        self._exited(worker.pid)

    def _restart_the_dead(self) -> None:
        for index, worker in enumerate(self.workers):
            code = worker.process.poll()
            if code is None or self._stopping:
                continue
            lived = time.monotonic() - worker.started
            log.warning("worker exited; starting another", extra={
                "pid": worker.pid, "exit_code": code, "lived_s": round(lived, 1)})
            self._gone(worker)
            self._failures = self._failures + 1 if lived < EARLY else 0
            if self._failures:
                self._pause(min(0.5 * 2 ** (self._failures - 1), MOST_PAUSE))
            new = self._started(index)
            if new is None:  # stopping
                self.workers = [w for w in self.workers if w is not worker]
                return
            self.workers[index] = new

    def _pause(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < end:
            time.sleep(_TICK)

    def _started(self, slot: int) -> Worker | None:
        """A new worker in ``slot``, ready; after a failure the next try follows a pause.
        None once the supervisor is stopping."""
        while not self._stopping:
            worker = self._spawn(slot)
            try:
                self._await(worker)
                return worker
            except WorkerFailed as failed:
                log.error("worker failed to start", extra={"pid": failed.pid,
                                                           "exit_code": failed.code})
                self._gone(worker)
                self._failures += 1
                self._pause(min(0.5 * 2 ** (self._failures - 1), MOST_PAUSE))
        return None

    def _replace_all(self) -> None:
        """Replace the workers one at a time, each new one ready before its old one stops."""
        log.info("replacing the workers", extra={"workers": len(self.workers)})
        for index, old in enumerate(list(self.workers)):
            if self._stopping:
                return
            new = self._spawn(index)
            try:
                self._await(new)
            except WorkerFailed as failed:
                log.error("new worker failed to start; the old ones keep serving",
                          extra={"pid": failed.pid, "exit_code": failed.code})
                self._gone(new)
                return
            self.workers[index] = new
            self._end(old, signal.SIGTERM)
            self._gone(old)
            log.info("worker replaced", extra={"old_pid": old.pid, "pid": new.pid})
