"""The one outgoing queue's dispatcher: paced, fair, retried, persistent, never silent on failure.

Fairness: each step looks at the oldest due row of every target (group or private chat) and
sends the one whose target was served least recently, so targets take turns and one group's
backlog delays another group's message by at most one rotation over the busy targets.

Delivery is at least once: a row is stamped before the OneBot call and marked sent right after
the call returns; a kill between the QQ side accepting the message and that mark re-sends that
one message after restart. The attempt stamps rebuild the pacing window at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import nonebot
from nonebot import logger
from nonebot.adapters.onebot.v11 import Bot, Message, MessageSegment

from domain.outbox import SendPacer
from domain.services import Services
from storage.outbox import OutboxMessage, OutboxRepository

IDLE_SECONDS = 30.0
NO_BOT_RECHECK_SECONDS = 1.0  # queued messages go out within this long after a bot connects
PRUNE_EVERY_SECONDS = 3600.0  # old sent rows are pruned at most this often
PACE_WINDOW_SECONDS = 60.0  # the global rate is per sliding minute


def first_connected_bot() -> Bot | None:
    for bot in nonebot.get_bots().values():
        if isinstance(bot, Bot):
            return bot
    return None


def to_message(segments: list[dict]) -> Message:
    """Rebuild the stored segments; nothing is parsed as CQ code."""
    return Message([MessageSegment(s["type"], dict(s["data"])) for s in segments])


class OutboxDispatcher:
    """Sends queued messages one at a time, within the pacer's limits, retrying with back-off."""

    def __init__(self, svc: Services, get_bot: Callable[[], Bot | None] = first_connected_bot,
                 *, now: Callable[[], float] | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.svc = svc
        self.repo = OutboxRepository(svc.db)
        self.get_bot = get_bot
        self.now = now or (lambda: svc.clock.now().timestamp())
        self.sleep = sleep
        settings = svc.settings
        self.pacer = SendPacer(settings.send_interval_seconds, settings.send_rate_per_minute)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._pace_restored = False
        self._next_prune_at = float("-inf")
        svc.outbox.on_enqueue(self.wake)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                wait = await self.step()
            except Exception:
                logger.exception("outbox dispatcher step failed")
                wait = 5.0
            if wait is None:
                continue
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def step(self) -> float | None:
        """Send (or try) one message. None when it did; else how long there is nothing to do."""
        now = self.now()
        if not self._pace_restored:
            await self.restore_pace(now)
        if now >= self._next_prune_at:
            self._next_prune_at = now + PRUNE_EVERY_SECONDS
            await self.svc.outbox.prune_sent(now)
        bot = self.get_bot()
        if bot is None:
            return NO_BOT_RECHECK_SECONDS
        heads = await self.repo.due_heads(now)
        if not heads:
            upcoming = await self.repo.next_due_at()
            return IDLE_SECONDS if upcoming is None else max(min(upcoming - now, IDLE_SECONDS),
                                                              0.05)
        message = min(heads, key=self._turn)
        delay = self.pacer.delay(message.target_key, now)
        if delay > 0:
            await self.sleep(delay)
            return None
        await self._send(bot, message)
        return None

    def _turn(self, message: OutboxMessage) -> tuple[float, int]:
        """Round-robin order: the target served least recently (never served: first) goes
        next; among those, the oldest row. Its per-target wait is also the shortest."""
        last = self.pacer.last_sent(message.target_key)
        return (float("-inf") if last is None else last, message.id)

    async def restore_pace(self, now: float) -> None:
        """Rebuild the pacer from the send attempts recorded in the database (start-up), so a
        restart never sends more than the rate in a minute or breaks the per-group interval."""
        since = now - max(PACE_WINDOW_SECONDS, self.svc.settings.send_interval_seconds)
        self.pacer.restore(await self.repo.recent_attempts(since))
        self._pace_restored = True

    async def drain(self, max_steps: int = 100_000) -> None:
        """Step until nothing is pending (or no bot); sleeping through waits. For tests/benches."""
        for _ in range(max_steps):
            wait = await self.step()
            if wait is None:
                continue
            if self.get_bot() is None or not (await self.repo.counts()).get("pending"):
                return
            await self.sleep(wait)

    async def _send(self, bot: Bot, message: OutboxMessage) -> None:
        now = self.now()
        async with self.svc.db.transaction():
            # counted in the window if killed; the row as committed (None: rolled back)
            message = await self.repo.mark_attempt(message.id, now)
        if message is None:
            return
        self.pacer.record(message.target_key, now)
        try:
            if message.target_type == "group":
                await bot.call_api("send_group_msg", group_id=message.target_id,
                                   message=to_message(message.segments))
            else:
                params = {"user_id": message.target_id, "message": to_message(message.segments)}
                if message.via_group_id:
                    params["group_id"] = message.via_group_id  # temp session for non-friends
                await bot.call_api("send_private_msg", **params)
        except Exception as exc:
            await self._failed(message, exc)
            return
        # Nothing between the call returning and this mark: it is the whole re-send window.
        async with self.svc.db.transaction():
            await self.repo.mark_sent(message.id, self.now())
        await self.svc.outbox.settle_backlog(message.branch_id)

    async def _failed(self, message: OutboxMessage, exc: Exception) -> None:
        attempts = message.attempts + 1
        error = f"{type(exc).__name__}: {exc}"
        where = f"{message.target_type} {message.target_id}"
        if attempts > self.svc.settings.send_max_retries or message.fallback_segments:
            async with self.svc.db.transaction():
                await self.repo.mark_failed(message.id, error)
                # a private note that cannot arrive is told in the group instead, and a picture
                # a group refuses is sent there as text, at once (in the same transaction: a
                # kill cannot lose both)
                group = message.via_group_id or (message.target_id
                                                 if message.target_type == "group" else None)
                if message.fallback_segments and group:
                    await self.svc.outbox.to_group(group, message.fallback_segments,
                                                   f"{message.kind}_fallback",
                                                   branch_id=message.branch_id)
            if message.fallback_segments and group:
                logger.warning(f"outbox #{message.id} to {where} failed ({error}); "
                               "told the group instead")
                return
            logger.error(f"outbox #{message.id} ({message.kind}) to {where} failed for good "
                         f"after {attempts} attempts ({error})")
            return
        retry_in = self.svc.outbox.backoff(attempts)
        async with self.svc.db.transaction():
            await self.repo.mark_retry(message.id, error, self.now() + retry_in)
        logger.warning(f"outbox #{message.id} to {where} failed ({error}); "
                       f"retry {attempts} in {retry_in:.0f}s")
