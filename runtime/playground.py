"""Playground mode (``python -m tools.playground`` only): move the bot's clock forward.

Enabled only when ``playground_mode`` is set, and its HTTP endpoint is added only when the bot
listens on a loopback address. The clock is a ``domain.clock.OffsetClock``. APScheduler's own
notion of "now" is shifted by the same offset, so jobs armed for the bot's time run at the
bot's time.

``POST /playground/advance`` with ``{"until": <unix seconds>}`` fast-forwards: the jobs due
up to ``until`` run one moment at a time, in time order, with the clock set to that job's time
first (reminders, session messages, rating time-outs, digests, the weekly commendation and the
daily backup behave as if the time had passed); after a moment whose jobs queued messages,
the queue is drained and the call returns, so the caller can show those messages at that time
and call again. ``done`` tells when the clock stands at ``until``. ``GET /playground/clock``
gives the bot's time. Both require the OneBot access token when one is set.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import inspect
import time
from pathlib import Path

from fastapi import Request
from fastapi.responses import JSONResponse
from nonebot import get_app, get_driver, logger

from domain.clock import OffsetClock
from domain.services import Services
from runtime.scheduling import shift_scheduler_time
from storage.playground import due_unsent, last_outbox_id, save_state

LOOPBACK = ("127.0.0.1", "::1", "localhost")
MAX_SKIP_SECONDS = 90 * 86400
DRAIN_TIMEOUT_SECONDS = 10.0
MAX_RUNS_PER_CALL = 5000  # then the caller asks again (``done`` is false)


class FastForward:
    """Runs the scheduler's jobs over a skipped span, in time order (one skip at a time)."""

    def __init__(self, svc: Services, scheduler, wake) -> None:
        self.svc = svc
        self.scheduler = scheduler
        self.wake = wake
        self._lock = asyncio.Lock()

    @property
    def clock(self) -> OffsetClock:
        clock = self.svc.clock
        assert isinstance(clock, OffsetClock)
        return clock

    async def advance(self, until: float) -> dict:
        """Run the jobs due up to ``until`` until a moment queued messages; see the module."""
        async with self._lock:
            target = self.clock.from_timestamp(min(until, self.clock.timestamp()
                                                   + MAX_SKIP_SECONDS))
            ran: list[str] = []
            done: set[tuple[str, _dt.datetime]] = set()  # a job re-armed at the same time
            queued_before = await last_outbox_id(self.svc.db)
            running = self.scheduler.running
            if running:
                self.scheduler.pause()
            try:
                while len(ran) < MAX_RUNS_PER_CALL:
                    due = self._due_at_next_moment(target, done)
                    if not due:
                        self.clock.advance_to(target)
                        break
                    self.clock.advance_to(due[0].next_run_time)
                    for job in due:
                        done.add((job.id, job.next_run_time))
                        await self._run(job)
                        ran.append(job.id)
                    if await last_outbox_id(self.svc.db) != queued_before:
                        break
            finally:
                if running:
                    self.scheduler.resume()
            await self._drain()
            await self.remember()
            return {"now": self.clock.now().timestamp(), "ran": ran,
                    "done": self.clock.now() >= target}

    async def remember(self) -> None:
        """Save the clock's offset and the backup folder in the database, for the tools
        (``python -m tools.export`` / ``tools.backup`` on this database)."""
        settings = self.svc.settings
        await save_state(self.svc.db, self.clock.offset.total_seconds(),
                         str(Path(settings.backup_dir).resolve()), self.clock.timestamp())

    def _due_at_next_moment(self, target: _dt.datetime, done: set) -> list:
        jobs = [j for j in self.scheduler.get_jobs()
                if j.next_run_time is not None and j.next_run_time <= target
                and (j.id, j.next_run_time) not in done]
        if not jobs:
            return []
        first = min(j.next_run_time for j in jobs)
        return sorted((j for j in jobs if j.next_run_time == first), key=lambda j: j.id)

    async def _run(self, job) -> None:
        run_time, trigger = job.next_run_time, job.trigger
        try:
            result = job.func(*job.args, **job.kwargs)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception(f"playground: job {job.id} failed")
        current = self.scheduler.get_job(job.id)
        if current is None or current.trigger is not trigger or \
                current.next_run_time != run_time:
            return  # the job removed or re-armed itself
        following = trigger.get_next_fire_time(run_time, self.clock.now())
        if following is None:
            current.remove()
        else:
            current.modify(next_run_time=following)

    async def _drain(self) -> None:
        """Wait until every message due now has been handed to the QQ side."""
        deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if not await due_unsent(self.svc.db, self.clock.now().timestamp()):
                return
            self.wake()
            await asyncio.sleep(0.02)
        logger.warning("playground: messages still queued after the skip")


async def enable(svc: Services, dispatcher) -> FastForward | None:
    """Shift APScheduler's time with the clock, add the endpoints (loopback only) and save
    the clock's state for the tools."""
    from nonebot_plugin_apscheduler import scheduler

    if not isinstance(svc.clock, OffsetClock):
        return None
    config = get_driver().config
    if str(config.host) not in LOOPBACK:
        logger.error("playground_mode is on but the bot listens on a public address: "
                     "the clock cannot be moved")
        return None
    shift_scheduler_time(svc.clock)  # already done at start-up; harmless again
    forward = FastForward(svc, scheduler, dispatcher.wake if dispatcher else lambda: None)
    token = getattr(config, "onebot_access_token", None) or ""

    def allowed(request: Request) -> bool:
        # from this machine only (a reverse proxy on the same host would not do), and with
        # the access token when one is set
        client = request.client.host if request.client else ""
        if client not in LOOPBACK:
            return False
        return not token or request.headers.get("authorization", "") == f"Bearer {token}"

    app = get_app()

    @app.get("/playground/clock")
    async def playground_clock(request: Request):
        if not allowed(request):
            return JSONResponse({"error": "forbidden"}, status_code=403)
        return {"now": svc.clock.now().timestamp()}

    @app.post("/playground/advance")
    async def playground_advance(request: Request):
        if not allowed(request):
            return JSONResponse({"error": "forbidden"}, status_code=403)
        body = await request.json()
        try:
            until = float(body["until"])
        except (KeyError, TypeError, ValueError):
            return JSONResponse({"error": "until (unix seconds) is required"}, status_code=400)
        return await forward.advance(until)

    await forward.remember()
    logger.warning("playground mode: the clock can be moved forward over HTTP (never use this "
                   "in production)")
    return forward
