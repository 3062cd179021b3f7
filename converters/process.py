"""Child processes with limits, seen from the parent: start ``python -m converters.worker``
in its own session with an address-space, CPU and core-dump limit, a scheduling priority
and a minimal environment, send it a JSON job, read its JSON-lines answers against a wall-clock
deadline, and kill its whole process group when anything goes wrong. ``ask`` reads the one
answer of a child that does one job and exits (a validation, a picture).

Must not import pymupdf or PIL (the parent never touches the PDF), nor Flask, SQLAlchemy,
storage or floorplans."""

from __future__ import annotations

import json
import logging
import os
import resource
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The exit code a worker uses when it caught its own want of memory.
from converters.child import EXIT_MEMORY

logger = logging.getLogger(__name__)
# A protocol line is a small JSON object; anything longer is garbage (or an attack on the
# parent's memory).
MAX_LINE = 64 * 1024
# Seconds between the soft CPU limit (SIGXCPU, which Python does not catch) and the hard
# one (SIGKILL), in case the soft signal is blocked.
CPU_GRACE = 5
#: The child entry points: the PDF validator and renderer, and the picture reader.
WORKER_MODULES = ("converters.worker", "converters.image_worker")
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


class ProtocolError(Exception):
    """The worker wrote something that is not a protocol line."""


class WallTimeout(Exception):
    """The deadline passed before every worker finished. ``step`` is the child's last
    progress line when it was that step's own, shorter limit that passed (``ask``)."""

    def __init__(self, step: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.step = step


@dataclass(frozen=True)
class Outcome:
    """How a worker ended: ``returncode`` as subprocess reports it (negative = signal).
    ``max_rss_mb`` is the kernel's ru_maxrss, which also counts the parent's memory the
    child shared between fork and exec; the worker reports its own peak per page."""

    returncode: int
    cpu_seconds: float
    max_rss_mb: float

    def describe(self) -> str:
        if self.returncode < 0:
            return signal.Signals(-self.returncode).name
        return f"exit {self.returncode}"


def out_of_memory(outcome: Outcome, error: dict[str, Any] | None) -> bool:
    """Whether the child ended for want of memory: its exit code, or its ``error`` line."""
    return outcome.returncode == EXIT_MEMORY or (error is not None and error.get("kind") == "memory")


def child_environment() -> dict[str, str]:
    """PATH, LANG and the PYTHONPATH that finds this package: no credentials, no app
    configuration (AWS_*, FLOORPLANS_*) reaches code that parses hostile files."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "PYTHONPATH": _PACKAGE_ROOT,
    }


def _limiter(memory_mb: int, cpu_seconds: int, cpu_total: int, nice: int) -> Callable[[], None]:
    def apply_limits() -> None:
        # Runs in the child between fork and exec: only setrlimit and setpriority calls,
        # nothing that takes a lock the parent's other threads might hold.
        address_space = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_total + CPU_GRACE))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # Lower priority only, never higher (a parent already niced keeps its own).
        if nice > os.getpriority(os.PRIO_PROCESS, 0):
            os.setpriority(os.PRIO_PROCESS, 0, nice)

    return apply_limits


class ChildProcess:
    """One worker process running one job.

    ``cpu_seconds`` is the soft CPU limit (SIGXCPU) and ``cpu_total`` the hard one
    (SIGKILL, plus a grace period): a worker that serves several pages raises its soft
    limit page by page, never past the hard one. ``nice`` is the child's scheduling
    priority (0 = as the parent; 19 = the lowest): render workers run below the web
    processes on the same cores, so officers' requests come first. ``module`` is the
    worker's entry point (``converters.image_worker`` for photos)."""

    def __init__(
        self,
        job: dict[str, Any],
        *,
        memory_mb: int,
        cpu_seconds: int,
        cpu_total: int | None = None,
        nice: int = 0,
        module: str = "converters.worker",
    ) -> None:
        self.job = job
        self._stderr = tempfile.TemporaryFile()
        self._buffer = b""
        self.outcome: Outcome | None = None
        if module not in WORKER_MODULES:
            raise ValueError(f"not a worker entry point: {module!r}")
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter and one of WORKER_MODULES
            [sys.executable, "-m", module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=child_environment(),
            cwd=_PACKAGE_ROOT,
            start_new_session=True,  # its own process group: one killpg takes everything
            preexec_fn=_limiter(memory_mb, cpu_seconds, cpu_total or cpu_seconds, nice),
            close_fds=True,
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.stdin = self.process.stdin
        self.stdout = self.process.stdout
        os.set_blocking(self.stdout.fileno(), False)
        self.send(job)

    def send(self, message: dict[str, Any]) -> None:
        """One line to the worker's stdin (lines are small: the pipe never blocks)."""
        try:
            self.stdin.write(json.dumps(message).encode() + b"\n")
            self.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # it has died or we closed it; reading its stdout will tell

    def end_input(self) -> None:
        """Tell the worker there is no more work: it exits when stdin closes."""
        try:
            self.stdin.close()
        except BrokenPipeError:
            pass

    @property
    def pid(self) -> int:
        return self.process.pid

    def read(self) -> tuple[list[dict[str, Any]], bool]:
        """The complete lines available now, and whether stdout has reached its end."""
        try:
            chunk = os.read(self.stdout.fileno(), 65536)
        except BlockingIOError:
            return [], False
        if not chunk:
            if self._buffer:
                raise ProtocolError("unterminated line")
            return [], True
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) > MAX_LINE:
            raise ProtocolError("line too long")
        messages = []
        for line in lines:
            try:
                message = json.loads(line)
            except ValueError as error:
                raise ProtocolError("not JSON") from error
            if not isinstance(message, dict) or not isinstance(message.get("event"), str):
                raise ProtocolError("not a protocol message")
            messages.append(message)
        return messages, False

    def kill(self) -> None:
        if self.outcome is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.reap()

    def reap(self, timeout: float | None = None) -> Outcome:
        """Wait for the process (at most ``timeout`` seconds, then kill it) and record how
        it ended, with its CPU time and peak memory."""
        if self.outcome is not None:
            return self.outcome
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            # WNOWAIT leaves the leader a zombie, so its process-group id cannot be reused
            # before the group is killed below.
            flags = os.WEXITED | os.WNOWAIT | (os.WNOHANG if deadline is not None else 0)
            if os.waitid(os.P_PID, self.pid, flags) is not None:
                break
            if deadline is not None and time.monotonic() >= deadline:
                deadline = None
                os.killpg(self.pid, signal.SIGKILL)
                continue
            time.sleep(0.01)
        # Nothing a worker started may outlive it.
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _, status, usage = os.wait4(self.pid, 0)
        self.process.returncode = os.waitstatus_to_exitcode(status)
        self.outcome = Outcome(
            returncode=self.process.returncode,
            cpu_seconds=usage.ru_utime + usage.ru_stime,
            max_rss_mb=usage.ru_maxrss / 1024,
        )
        self.stdout.close()
        self.end_input()
        return self.outcome

    def stderr_summary(self, limit: int = 3) -> str:
        """A short digest of what MuPDF and Python wrote to stderr: the count of lines and
        the first few distinct ones, never the whole (possibly huge) text."""
        self._stderr.seek(0)
        text = self._stderr.read(1024 * 1024).decode("utf-8", "replace")
        lines = [line.strip()[:200] for line in text.splitlines() if line.strip()]
        distinct = list(dict.fromkeys(lines))[:limit]
        if not lines:
            return ""
        return f"{len(lines)} line(s) on stderr, e.g. " + " | ".join(distinct)

    def close(self) -> None:
        self.kill()
        self._stderr.close()


def exchange(
    children: list[ChildProcess], deadline: float | Callable[[], float]
) -> Iterator[tuple[ChildProcess, dict[str, Any] | None]]:
    """Yield (child, message) as lines arrive from any child, and (child, None) once when
    a child's stdout ends; raise WallTimeout when ``deadline`` (time.monotonic) passes.
    A callable ``deadline`` is asked again after every message (a deadline that moves as
    the child reports its progress)."""
    selector = selectors.DefaultSelector()
    try:
        for child in children:
            selector.register(child.stdout, selectors.EVENT_READ, child)
        open_count = len(children)
        while open_count:
            remaining = (deadline() if callable(deadline) else deadline) - time.monotonic()
            if remaining <= 0:
                raise WallTimeout()
            for key, _ in selector.select(remaining):
                child = key.data
                messages, ended = child.read()
                for message in messages:
                    yield child, message
                if ended:
                    selector.unregister(child.stdout)
                    open_count -= 1
                    yield child, None
    finally:
        selector.close()


#: The line a one-answer child writes as each step of its work begins (a page being checked).
PROGRESS_EVENT = "checking"


@dataclass(frozen=True)
class Answer:
    """What a one-answer child said (``None``: nothing the protocol allows) and how it ended."""

    message: dict[str, Any] | None
    outcome: Outcome

    def payload(self, event: str) -> dict[str, Any] | None:
        """The answer when it is ``event`` and the child then exited cleanly."""
        if self.message is not None and self.message.get("event") == event and self.outcome.returncode == 0:
            return self.message
        return None

    @property
    def rejection(self) -> str | None:
        """The child's own words when it refused the file (a ``rejected`` line)."""
        if self.message is not None and self.message.get("event") == "rejected":
            return str(self.message.get("message"))
        return None

    @property
    def out_of_memory(self) -> bool:
        return out_of_memory(self.outcome, self.message)

    @property
    def detail(self) -> str:
        """The child's ``error`` detail, for the log (never for people)."""
        return str((self.message or {}).get("detail", ""))


def ask(child: ChildProcess, seconds: float, *, step_seconds: float | None = None, what: str) -> Answer:
    """The one answer of ``child`` (a job that answers once and exits), within ``seconds``.

    With ``step_seconds``, each ``checking`` line before the answer gives the step it
    announces that long, within the whole. Raises ``WallTimeout`` (``step`` set when the
    step's limit passed first); a child that breaks the protocol gives an answer of
    ``None``. ``what`` names the work in the log. The child never outlives the call."""
    answer: dict[str, Any] | None = None
    step: dict[str, Any] | None = None
    deadline = step_deadline = time.monotonic() + seconds

    def current_deadline() -> float:
        return min(deadline, step_deadline)

    try:
        for _, message in exchange([child], current_deadline):
            if message is None or answer is not None:
                continue
            if step_seconds is not None and message.get("event") == PROGRESS_EVENT:
                step, step_deadline = message, time.monotonic() + step_seconds
            else:
                answer, step_deadline = message, deadline
        outcome = child.reap(timeout=max(0.0, deadline - time.monotonic()))
    except WallTimeout:
        raise WallTimeout(step if step_deadline < deadline else None) from None
    except ProtocolError:
        answer, outcome = None, child.reap(timeout=0)
    finally:
        summary = child.stderr_summary()
        child.close()
    if summary:
        logger.info("%s: %s", what, summary)
    return Answer(answer, outcome)
