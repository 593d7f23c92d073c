"""The download pool: worker slots bound to proxies, and what the run does with each outcome by the failure policy
(``download.policy``): record it, hold it for a known-good check, or send the video back to the queue and pause or
retire the proxy that met YouTube's limit.

- **Slots.** ``--workers`` slots per proxy (``--proxy-file``: one URL per line; ``--proxy``: one; neither: this
  machine's own address). A slot only takes videos while its proxy is neither paused nor retired.
- **A rate limit or a wall hits one proxy.** YouTube's session rate limit (or a 429 through every retry) pauses that
  proxy for ``--rate-limit-wait`` (at most ``--rate-limit-pauses`` times, then it is retired); a bot check, a blocked
  IP or a captcha retires it. The video goes back to the queue, unrecorded, for the other proxies. The run waits only
  when every proxy is paused, and stops only when every one is retired, naming each.
- **An unsure failure is judged, never taken on its word.** YouTube uses the same words for a removed video and a
  blocked session ("This content isn't available"), and new words when it changes. Such failures are held per
  proxy; when ``--check-batch`` of them wait, ``--check-interval`` passed since the first, or nothing else is left
  to do, the known-good video (``--check-video``) is extracted through that proxy with the run's own options. It
  works: the held failures are the videos' own, recorded with the check. It fails too: they are this session's; the
  proxy pauses (or, walled, is retired) and the videos go back to the queue.
- **Ctrl-C.** No new download starts; what is in flight finishes: its ok files are recorded, its failures are not
  (a child killed by the signal says nothing about the video), held failures stay pending.

Example::

    pool = Pool(todo, out_dir, config, summary, breakers, damaged={}, resume="python -m download ...")
    pool.run()          # raises FatalError when the run must stop (every proxy out, a breaker, ...)
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tqdm import tqdm

from common.contract import append_record
from download.attempt import Breakers, Outcome, download_one, is_youtube, run_options
from download.errors import BOT_CHECK_HELP, COOKIES_ADVICE, BotCheckError, FatalError, RateLimited
from download.listing import Video
from download.policy import ENVIRONMENT, INTERRUPTED, PAUSE, RETRY, STOP, UNSURE, VIDEO, classify
from download.ytdlp import redact_url

logger = logging.getLogger(__name__)

# The closing table per proxy (and download_summary.json's "proxies").
PROXY_COLUMNS = ("proxy", "ok", "failed", "requeued", "pauses", "known-good checks", "out")


@dataclass
class Proxy:
    """One proxy (``url`` None: this machine's own address) and what happened through it in this run."""
    url: str | None
    paused_until: float = 0.0
    pauses: int = 0
    retired: str | None = None            # why it takes no more videos
    last_limit: str = ""                  # the last rate limit or wall it met (for the stop message)
    counts: Counter = field(default_factory=Counter)    # ok, failed, requeued, checks
    held: list[Outcome] = field(default_factory=list)   # unsure failures waiting for a known-good check
    held_since: float = 0.0

    @property
    def name(self) -> str:
        return redact_url(self.url) or "this machine"

    def available(self, now: float) -> bool:
        return self.retired is None and now >= self.paused_until


@dataclass
class Slot:
    proxy: Proxy
    busy: bool = False


class Pool:
    def __init__(self, todo: list[Video], out_dir: Path, config, summary, breakers: Breakers,
                 damaged: dict[str, str], resume: str):
        self.out_dir, self.config, self.summary, self.breakers = out_dir, config, summary, breakers
        self.damaged, self.resume = damaged, resume
        self.queue = list(todo)
        self.proxies = [Proxy(url) for url in config.proxy_urls]
        self.slots = [Slot(proxy) for proxy in self.proxies for _ in range(config.workers)]
        self.in_flight: dict = {}
        self.stop = threading.Event()
        self.fatal: FatalError | None = None
        self.ok_in = Counter(r.category for r in summary.records.values() if r.ok)
        self.bar = tqdm(total=len(todo), desc="download", unit="video", dynamic_ncols=True)
        self.failures = 0
        self.checks = 0                   # known-good extractions made

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        """Fetch the queue; raises ``FatalError`` when the run must stop, ``KeyboardInterrupt`` after Ctrl-C."""
        with ThreadPoolExecutor(max_workers=len(self.slots), thread_name_prefix="dl") as executor:
            try:
                while not self.stop.is_set():
                    self.submit_ready(executor)
                    if self.in_flight:
                        done, _ = wait(self.in_flight, timeout=1.0, return_when=FIRST_COMPLETED)
                        for future in done:
                            self.collect(future)
                        self.judge_due(force=False)
                    elif not self.judge_due(force=True) and not self.wait_for_a_proxy():
                        break
            except KeyboardInterrupt:
                self.stop.set()          # no new attempt starts; what is in flight finishes
                logger.warning("interrupted: recording the %d download(s) in flight that finished, then stopping",
                               len(self.in_flight))
                for future in wait(self.in_flight)[0]:
                    self.collect(future)
                raise
            finally:
                self.bar.close()
        if self.fatal is not None:
            raise self.fatal

    def submit_ready(self, executor) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.busy or not slot.proxy.available(now) or self.stop.is_set():
                continue
            video = self.next_video()
            if video is None:
                return
            slot.busy = True
            future = executor.submit(download_one, video, self.out_dir, self.config, self.stop, self.breakers,
                                     self.damaged.get(video.id), slot.proxy.url)
            self.in_flight[future] = (video, slot)

    def next_video(self) -> Video | None:
        for index, video in enumerate(self.queue):
            busy = sum(v.category == video.category for v, _ in self.in_flight.values())
            if self.config.per_category is None or self.ok_in[video.category] + busy < self.config.per_category:
                return self.queue.pop(index)
            # category full (counting in-flight ones): skip it for now, it may free up if one of them fails
        return None

    def collect(self, future) -> None:
        video, slot = self.in_flight.pop(future)
        slot.busy = False
        try:
            outcome = future.result()
        except FatalError as error:            # a breaker tripped: the video stays unrecorded, so it stays pending
            self.halt(error)
            return
        self.act(outcome, slot.proxy)

    # ------------------------------------------------------------ what each outcome makes the run do

    def act(self, outcome: Outcome, proxy: Proxy) -> None:
        whose = None if outcome.ok else outcome.verdict.whose
        if whose is None:
            proxy.counts["ok"] += 1
            self.land(outcome)
        elif self.stop.is_set():
            pass                          # stopping (Ctrl-C): a failure now says nothing about the video
        elif whose == PAUSE:
            self.requeue([outcome], proxy)
            self.pause(proxy, f"{outcome.verdict.reason} on {outcome.video.id}: {outcome.record.message}")
        elif whose == STOP:
            self.requeue([outcome], proxy)
            self.retire(proxy, f"{outcome.verdict.reason} on {outcome.video.id}: {outcome.record.message}",
                        wall=True)
        elif whose == UNSURE and is_youtube(outcome.video):
            if not proxy.held:
                proxy.held_since = time.monotonic()
            proxy.held.append(outcome)
        elif whose == ENVIRONMENT:
            proxy.counts["failed"] += 1
            self.land(outcome)
            self.count_environment(outcome)
        else:                             # the video's own, or transient through every retry
            proxy.counts["failed"] += 1
            self.land(outcome)
            if whose == VIDEO and self.breakers.environment:
                self.breakers.environment.success()    # a failure of the video's own: this machine gets answers

    def land(self, outcome: Outcome) -> None:
        """Record an outcome: appended to the manifest (fsync'ed), counted, shown on the bar."""
        append_record(self.out_dir, outcome.record)
        self.summary.records[outcome.video.id] = outcome.record
        self.summary.attempted += 1
        self.ok_in[outcome.video.category] += outcome.ok
        self.failures += not outcome.ok
        self.bar.update(1)
        self.bar.set_postfix(ok=self.bar.n - self.failures, failed=self.failures)

    def count_environment(self, outcome: Outcome) -> None:
        if self.breakers.environment:
            try:
                self.breakers.environment.failure(outcome.video.id, outcome.verdict.reason,
                                                  outcome.record.message or "", outcome.record.warnings)
            except FatalError as error:
                self.halt(error)

    def requeue(self, outcomes: list[Outcome], proxy: Proxy) -> None:
        """Back to the front of the queue, unrecorded, for any proxy."""
        proxy.counts["requeued"] += len(outcomes)
        self.queue[:0] = [outcome.video for outcome in outcomes]

    def pause(self, proxy: Proxy, why: str) -> None:
        proxy.last_limit = why
        if proxy.pauses >= self.config.rate_limit_pauses:
            self.retire(proxy, f"rate-limited past {proxy.pauses} pause(s) of {self.config.rate_limit_wait:.0f} s "
                               f"(--rate-limit-pauses, --rate-limit-wait); last: {why}", wall=False)
            return
        proxy.pauses += 1
        proxy.paused_until = time.monotonic() + self.config.rate_limit_wait
        logger.warning("%s: YouTube rate-limits this session (%s); it pauses for %.0f s (pause %d of %d)%s",
                       proxy.name, why[:200], self.config.rate_limit_wait, proxy.pauses,
                       self.config.rate_limit_pauses,
                       "" if len(self.proxies) == 1 else "; the other proxies go on")

    def retire(self, proxy: Proxy, why: str, wall: bool) -> None:
        proxy.retired = why
        proxy.last_limit = proxy.last_limit or why
        proxy.counts["wall" if wall else "limit"] += 1
        if len(self.proxies) > 1:
            logger.warning("%s is out for this run: %s", proxy.name, why[:300])
        if all(p.retired for p in self.proxies):
            self.halt(self.every_proxy_out())

    def every_proxy_out(self) -> FatalError:
        """The stop message when no proxy can go on: each one and why; a wall's advice or a rate limit's."""
        walled = any(p.counts["wall"] for p in self.proxies)
        if len(self.proxies) == 1:
            reason = self.proxies[0].retired
        else:
            reason = "every proxy is out: " + "; ".join(f"{p.name}: {p.retired[:200]}" for p in self.proxies)
        if walled:
            return BotCheckError(f"{reason} {BOT_CHECK_HELP} Nothing was lost; resume with: {self.resume}")
        return RateLimited(f"{reason}. YouTube's rate limit outlasted the pauses. Stopped; nothing was lost (the "
                           f"rate-limited videos stay pending). Wait an hour, {COOKIES_ADVICE}, then resume with: "
                           f"{self.resume}")

    def halt(self, error: FatalError) -> None:
        self.stop.set()
        self.fatal = self.fatal or error
        self.summary.stopped = self.summary.stopped or str(error)

    # ------------------------------------------------------------ waiting

    def wait_for_a_proxy(self) -> bool:
        """Nothing in flight: wait for the first paused proxy when videos are left and none can take them (the bar
        shows the countdown); False when there is nothing left to wait for."""
        if not self.queue or self.stop.is_set():
            return False
        now = time.monotonic()
        active = [p for p in self.proxies if p.retired is None]
        if not active or any(p.available(now) for p in active):
            return False        # a proxy could take a video and none was given one: what is left cannot be done
        until = min(p.paused_until for p in active)
        while (left := until - time.monotonic()) > 0 and not self.stop.is_set():
            self.bar.set_postfix_str(f"rate-limited: waiting {left:.0f} s")
            time.sleep(min(1.0, left))
        self.bar.set_postfix(ok=self.bar.n - self.failures, failed=self.failures)
        return True

    # ------------------------------------------------------------ the known-good check

    def judge_due(self, force: bool) -> bool:
        """Judge the held failures of each proxy whose batch is full, waited ``--check-interval``, or (``force``:
        nothing else to do) of every proxy holding some; True when one was judged."""
        judged = False
        now = time.monotonic()
        for proxy in self.proxies:
            if not proxy.held or self.stop.is_set():
                continue
            if force or len(proxy.held) >= self.config.check_batch or \
                    now - proxy.held_since >= self.config.check_interval:
                self.judge(proxy)
                judged = True
        return judged

    def judge(self, proxy: Proxy) -> None:
        held, proxy.held = proxy.held, []
        failure = known_good_failure(self.config, self.out_dir, proxy.url)
        self.checks += 1
        proxy.counts["checks"] += 1
        when = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if failure is None:
            checked = (f"the known-good video {self.config.check_video} was extracted fine through {proxy.name} at "
                       f"{when}, after this failure: the failure is the video's own")
            logger.info("%s: the known-good video answers: %d held failure(s) are the videos' own", proxy.name,
                        len(held))
            for outcome in held:
                proxy.counts["failed"] += 1
                self.land(outcome.as_whose(VIDEO, checked))
                if self.breakers.environment:
                    self.breakers.environment.success()
            return
        verdict = classify(failure, youtube=True)
        why = (f"the known-good video {self.config.check_video} failed too through {proxy.name} ({verdict.reason}: "
               f"{' '.join(failure.split())[:200]})")
        logger.warning("%s: %d held failure(s) are not the videos': %s", proxy.name, len(held), why)
        if verdict.whose == STOP:
            self.requeue(held, proxy)
            self.retire(proxy, why, wall=True)
        elif verdict.whose in (PAUSE, UNSURE):      # a session block: the same words as a removed video
            self.requeue(held, proxy)
            self.pause(proxy, why)
        else:                                        # a YouTube change, the network: not the videos', retryable
            for outcome in held:
                proxy.counts["failed"] += 1
                judged = outcome.as_whose(ENVIRONMENT if verdict.whose not in (RETRY, INTERRUPTED) else RETRY,
                                          f"not the video's: {why}")
                self.land(judged)
                self.count_environment(judged)

    def proxy_rows(self) -> list[list]:
        """The closing table's rows per proxy (with more than one, or one given)."""
        return [[p.name, p.counts["ok"], p.counts["failed"], p.counts["requeued"], p.pauses, p.counts["checks"],
                 p.retired[:80] if p.retired else "-"] for p in self.proxies]


def known_good_failure(config, out_dir: Path, proxy: str | None) -> str | None:
    """Extract ``--check-video`` with the run's own options (through ``proxy``); None when it works, else the
    failure's message."""
    import shutil

    from yt_dlp import YoutubeDL
    from yt_dlp.utils import DownloadError

    work = out_dir / "tmp" / "known-good-check"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        with YoutubeDL(run_options(config, work, "check", True, out_dir, proxy)) as ydl:
            ydl.extract_info(config.check_video, download=False)
        return None
    except DownloadError as error:
        return " | ".join(str(error).splitlines())[:500]
    finally:
        shutil.rmtree(work, ignore_errors=True)
