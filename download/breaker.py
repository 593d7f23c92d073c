"""The circuit breaker shared by downloads and ``--repair-ids`` searches: when the network (or a host) is down,
stop the run in seconds with one clear line instead of retrying every video for days.

It trips when the run's first ``start`` attempts on distinct videos all failed for network reasons (nothing ever
worked: no network, a firewall, broken DNS, a blocked address), or when ``consecutive`` attempts in a row failed for
network reasons at any point (the network went away mid-run). A success resets the streak. Until the first success
a network failure is not retried with back-off (``proven`` is False): the breaker decides quickly instead.

Example::

    from download.breaker import CircuitBreaker
    breaker = CircuitBreaker(start=3, consecutive=8, resume="python -m download --listing l.csv --out raw")
    breaker.failure("vid1", "127.0.0.1", "Connection refused")     # raises NetworkDown on the trip
"""

from __future__ import annotations

import threading

from download.errors import EnvironmentBroken, NetworkDown


class CircuitBreaker:
    def __init__(self, start: int, consecutive: int, resume: str, what: str = "videos"):
        self.start, self.consecutive, self.resume, self.what = start, consecutive, resume, what
        self._lock = threading.Lock()
        self._first: set[str] = set()        # distinct items among the run's first attempts, all network failures
        self._streak = 0
        self._successes = 0
        self.tripped: str | None = None

    @property
    def proven(self) -> bool:
        """Something worked in this run: network failures are then worth retrying with back-off."""
        return self._successes > 0

    def success(self) -> None:
        with self._lock:
            self._successes += 1
            self._streak = 0

    def other_failure(self) -> None:
        """A failure that is not the network's (404, corrupt media): the connection works."""
        self.success()

    def failure(self, item: str, host: str | None, message: str) -> None:
        """Count one network failure of ``item`` on ``host``; raise ``NetworkDown`` when the breaker trips."""
        with self._lock:
            self._streak += 1
            if not self._successes:
                self._first.add(item)
            trip = (not self._successes and len(self._first) >= self.start) or self._streak >= self.consecutive
            if trip and self.tripped is None:
                count = (f"the first {len(self._first)} {self.what} of this run" if not self._successes
                         else f"{self._streak} attempts in a row")
                last = " ".join(message.split())[:300]
                self.tripped = (f"network unreachable: {count} failed to reach {host or 'the host'} (last error: "
                                f"{last}). Stopped; nothing was lost: finished videos stay in the manifest and "
                                f"these stay retryable. Check the connection (python -m download --check --online), "
                                f"then resume with: {self.resume}")
        if self.tripped is not None:
            raise NetworkDown(self.tripped)


class EnvironmentBreaker:
    """The second breaker: ``limit`` videos in a row that failed for this machine's or a YouTube change's reasons
    (formats hidden by SABR, a missing PO token or JS runtime, a failed n challenge, a 403 wave, a broken client; the
    ENVIRONMENT kind of ``download.errors``) stop the run with what to do, instead of marking the whole listing
    failed in an hour. A success, or a failure that is the video's own, resets the streak.

    Example::

        breaker = EnvironmentBreaker(5, resume="python -m download --listing l.csv --out raw")
        breaker.failure("vid1", "format_unavailable", "Requested format is not available", ["n challenge ..."])
    """

    def __init__(self, limit: int, resume: str):
        self.limit, self.resume = limit, resume
        self._lock = threading.Lock()
        self._streak: list[str] = []
        self.tripped: str | None = None

    def success(self) -> None:
        with self._lock:
            self._streak.clear()

    def failure(self, item: str, reason: str, message: str, warnings=()) -> None:
        """Count one environment failure; raise ``EnvironmentBroken`` when ``limit`` come in a row."""
        from download.errors import ENVIRONMENT_HELP

        with self._lock:
            self._streak.append(reason)
            if len(self._streak) >= self.limit and self.tripped is None:
                reasons = ", ".join(f"{r} x{self._streak.count(r)}" for r in dict.fromkeys(self._streak))
                warned = "; ".join(" ".join(w.split())[:200] for w in list(warnings)[-3:])
                self.tripped = (f"{len(self._streak)} videos in a row failed for reasons that are not theirs ({reasons}; "
                                f"last: {item}: {' '.join(message.split())[:300]}"
                                + (f"; yt-dlp warned: {warned}" if warned else "") + "). "
                                f"{ENVIRONMENT_HELP} Stopped; nothing was lost: these videos stay retryable. "
                                f"Resume with: {self.resume}")
        if self.tripped is not None:
            raise EnvironmentBroken(self.tripped)
