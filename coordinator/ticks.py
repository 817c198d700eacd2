"""Time ticks for every DML channel, aggregated over the live proxies (DESIGN.md §3).

The invariant: once a consumer has seen tick T on a channel, no message with a
timestamp <= T can still arrive on it. One proxy alone could keep it by ticking
itself; with several, a slow proxy's write drawn at 5 can land after another's
tick at 6. So proxies publish no ticks. Each reports a :class:`SafeTsReport`
(its writes at or below a bound are acknowledged, later ones draw above it),
and the coordinator publishes on each physical channel a tick at the minimum
over the live proxies' latest reports, whenever that rises above the last tick
it published there. Reports only ever rise, so ticks do too.

Who counts: a proxy registers before its first write (its floor is a fresh
timestamp, below all it will draw) and unregisters after its last ack. A proxy
the cluster knows of but has not heard from (:meth:`expect_proxy`, for session
events after a coordinator restart) holds every tick until its first report. A
report from an id never seen is taken as its registration: after a restart,
the proxies still running carry on. With no proxy at all the coordinator ticks
at fresh timestamps, but only after a start-up grace, so that proxies of a
previous coordinator have had time to report.

Reads (Strong, Session, Bounded) need a tick covering their guarantee now, not
at the next period. The reading proxy sends its own fresh report with the
request (:meth:`request_tick`); if the tick still falls short, because another
proxy's latest report is older, the coordinator raises a demand count that
every proxy's periodic report call is waiting on (a long poll: the proxy's
report call returns early and the proxy reports again). The coordinator never
calls a proxy. A read therefore waits one report round trip with several
proxies, and never longer than one report interval.

Failure: a proxy that dies without unregistering holds ticks at its last
report until :meth:`proxy_left` (its session expired). From then on its reports
are refused. A write it still had in flight may land after a later tick; two
rules make that harmless. Consumers (datanode and querynode alike,
:mod:`elanus.late_writes`) drop any write stamped at or below a tick already
on the channel, so both agree on what was written. And a proxy answers success
only while its session is live (``DmlWriter(is_live=...)``), checked after the
stream acknowledged the write: a proxy cut off long enough for its session to
lapse answers an error, never a success for a write consumers may drop.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from elanus import dml, errors
from elanus.services import SafeTsReport
from elanus.stream import MessageStream

log = logging.getLogger(__name__)

DEFAULT_TICK_INTERVAL_S = 0.1
COORDINATOR_SOURCE_ID = 0  # MsgBase.sourceID of the coordinator's ticks; proxies count from 1
MAX_REPORT_WAIT_S = 600.0
GRACE_INTERVALS = 3


class TickAggregator:
    def __init__(
        self,
        stream: MessageStream,
        alloc_timestamp: Callable[[], int],
        channels: Callable[[], Iterable[str]],
        interval_s: float = DEFAULT_TICK_INTERVAL_S,
        source_id: int = COORDINATOR_SOURCE_ID,
        startup_grace_s: float | None = None,
    ) -> None:
        self._stream = stream
        self._alloc = alloc_timestamp
        self._channels = channels
        self._interval_s = interval_s
        self._source_id = source_id
        self._grace_s = GRACE_INTERVALS * interval_s if startup_grace_s is None else startup_grace_s
        self._changed = threading.Condition()
        # proxy id -> its latest report; None: expected, not heard from yet.
        self._proxies: dict[int, SafeTsReport | None] = {}
        self._departed: set[int] = set()  # unregistered or left: their reports are refused
        self._demand = 0
        self._publishing = threading.Lock()  # one publisher at a time: ticks rise per channel
        self._last: dict[str, int] = {}
        self._floor = 0  # nothing at or below this is published (ticks of a previous coordinator)
        self._msg_ids = itertools.count(1)
        self._started_at = time.monotonic()
        self._stopping = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="coord-ticker", daemon=True)

    # --- lifecycle

    def start(self) -> None:
        self._floor = self._alloc()
        self._started_at = time.monotonic()
        self._ticker.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()  # report calls waiting for a demand return now
        if self._ticker.is_alive():
            self._ticker.join(5)

    # --- who counts

    def register_proxy(self, proxy_id: int) -> int:
        """Count ``proxy_id`` from now on; it must not have written yet. Returns its floor."""
        with self._changed:
            floor = self._alloc()
            self._departed.discard(proxy_id)
            if self._proxies.get(proxy_id) is None:
                self._proxies[proxy_id] = SafeTsReport(floor)
            # else: already reporting; its report stays true and is the tighter bound.
        log.info("proxy registered for ticks", extra={"proxy": proxy_id, "floor": floor})
        return floor

    def expect_proxy(self, proxy_id: int) -> None:
        """A proxy is known to be alive (its session) but has not reported: hold ticks for it."""
        with self._changed:
            self._departed.discard(proxy_id)
            self._proxies.setdefault(proxy_id, None)

    def unregister_proxy(self, proxy_id: int) -> None:
        """The proxy stopped after its last acknowledgement: ticks no longer wait for it."""
        self._remove(proxy_id)
        log.info("proxy unregistered from ticks", extra={"proxy": proxy_id})

    def proxy_left(self, proxy_id: int) -> None:
        """The proxy is gone without unregistering (its session expired).

        Ticks pass its last report from now on; a write it had in flight and
        that still lands would be late (issue 6: fencing).
        """
        self._remove(proxy_id)
        log.warning("proxy left without unregistering", extra={"proxy": proxy_id})

    def live_proxies(self) -> list[int]:
        with self._changed:
            return sorted(self._proxies)

    def last_tick(self, pchannel: str) -> int:
        """The last tick published on ``pchannel`` by this coordinator (0: none yet)."""
        with self._publishing:
            return self._last.get(pchannel, 0)

    def tick(self, pchannels: Sequence[str] | None = None) -> None:
        """Publish now what the reports allow, on these channels (default: every one)."""
        self._publish(list(self._channels()) if pchannels is None else list(pchannels))

    # --- reports

    def report(self, proxy_id: int, report: SafeTsReport, wait_s: float) -> int:
        """Take the report, tick every channel; then wait (bounded) for a newer demand."""
        with self._changed:
            self._record(proxy_id, report)
        self.tick()
        with self._changed:
            self._changed.wait_for(
                lambda: (
                    self._demand > report.demand
                    or proxy_id not in self._proxies
                    or self._stopping.is_set()
                ),
                timeout=min(max(wait_s, 0.0), MAX_REPORT_WAIT_S),
            )
            return self._demand

    def request_tick(
        self, proxy_id: int, report: SafeTsReport, pchannels: Sequence[str], at_least: int
    ) -> None:
        """Tick ``pchannels`` for a read; demand fresh reports if that falls short of ``at_least``.

        A channel whose last tick already reaches ``at_least`` is left alone, so
        a burst of reads after one write costs one tick, not one per read.
        """
        with self._changed:
            self._record(proxy_id, report)
        short = self._publish(pchannels, at_least)
        if short:
            with self._changed:
                self._demand += 1
                self._changed.notify_all()

    # --- internals

    def _record(self, proxy_id: int, report: SafeTsReport) -> None:
        if proxy_id in self._departed:
            raise errors.ServiceUnavailable(
                f"proxy {proxy_id} is no longer counted in the time ticks; it must register again"
            )
        current = self._proxies.get(proxy_id)
        if proxy_id not in self._proxies:
            log.info("proxy reporting before registering; counting it", extra={"proxy": proxy_id})
        if current is None or report.safe_ts > current.safe_ts:
            self._proxies[proxy_id] = report

    def _remove(self, proxy_id: int) -> None:
        with self._changed:
            self._proxies.pop(proxy_id, None)
            self._departed.add(proxy_id)
            self._changed.notify_all()
        self.tick()

    def _targets(self, pchannels: Sequence[str]) -> dict[str, int]:
        """Per channel, the highest tick the live proxies allow now. Call under ``_changed``."""
        reports = list(self._proxies.values())
        if any(r is None for r in reports):
            return {}  # a proxy we have not heard from could have anything in flight
        if not reports:
            if time.monotonic() - self._started_at < self._grace_s:
                return {}
            fresh = self._alloc()  # under the lock: a proxy registering now gets a later floor
            return {ch: fresh for ch in pchannels}
        return {ch: min(r.on(ch) for r in reports if r is not None) for ch in pchannels}

    def _publish(self, pchannels: Sequence[str], at_least: int = 0) -> bool:
        """Publish what the reports allow; True if a channel still has no tick >= at_least."""
        with self._publishing:
            with self._changed:
                targets = self._targets(pchannels)
            short = False
            for pchannel in pchannels:
                last = self._last.get(pchannel, 0)
                if at_least and last >= at_least:
                    continue
                ts = targets.get(pchannel, 0)
                if ts > max(last, self._floor):
                    stamp = dml.Stamp(next(self._msg_ids), ts, self._source_id)
                    try:
                        self._stream.produce(pchannel, [dml.encode_time_tick(stamp)])
                    except Exception:
                        log.exception("time tick failed", extra={"pchannel": pchannel})
                        short = True
                        continue
                    self._last[pchannel] = last = ts
                short = short or last < at_least
            return short

    def _tick_loop(self) -> None:
        while not self._stopping.wait(self._interval_s):
            try:
                self.tick()
            except Exception:
                log.exception("periodic time tick failed")
