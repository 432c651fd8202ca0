"""The one outgoing queue's dispatcher: routed over every connected QQ account, paced per
account, fair across targets, failures classified, persistent, never silent.

Routing: each queued message goes through an account that can deliver it now
(``domain.delivery.routes``): for a group, a connected account in the group that is neither
muted there nor paused; for a person, an account they are a friend of (a secret never goes any
other way), else, for a personal notice, a temporary session through a group on a QQ side that
supports it (NapCat). A message nobody can deliver ends as the delivery policy says: told in the
group without its private text, and the person told to add the bot.

Pacing (``SendPacer``): per target an interval, per account sends spread evenly at the rate.
Fairness: of the targets with a due message, the one served least recently goes first.

Failures (``domain.delivery.classify``): a timeout is not retried blindly, since it may have
been delivered: before the next attempt the group's history is read for the bot's own message
since the first attempt, and if it is there the row is marked sent. Muted: that group waits on
that account; removed or not a friend: the message is routed again; several failures in a row
on one account: that account pauses (risk control) and superusers are told once. Anything else
is retried with back-off and, in the end, kept as failed and logged by its number (never its
text).

Delivery is at least once: a row is stamped (unconfirmed) before the OneBot call and marked sent
right after; an attempt whose outcome is unknown (a timeout, a kill, a dropped connection) is
looked up in the group's history before it is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Mapping

import nonebot
from nonebot import logger
from nonebot.adapters.onebot.v11 import ActionFailed, Bot, Message, MessageSegment

from domain.delivery import Delivery, Failure, Route, classify, policy_of, routes
from domain.outbox import SendPacer, at_segment, text_segment
from domain.services import Services
from runtime.metrics import observe_send
from storage.outbox import OutboxMessage, OutboxRepository

IDLE_SECONDS = 30.0
NO_BOT_RECHECK_SECONDS = 1.0  # queued messages go out within this long after a bot connects
PRUNE_EVERY_SECONDS = 3600.0  # old sent rows are pruned at most this often
PACE_WINDOW_SECONDS = 60.0  # the per-account rate is per sliding minute
HISTORY_COUNT = 50  # messages of a group's history read to find a timed-out send
HISTORY_SLACK_SECONDS = 60.0  # clock difference allowed between the bot and the QQ side
GENERIC_FALLBACK = " 有一条私聊消息没能送达你，请加我为好友后发送 /我的 查看。"
_CQ_CODE = re.compile(r"\[CQ:[^\]]*\]")

BotsGetter = Callable[[], Mapping[int, Bot]]


def connected_bots() -> dict[int, Bot]:
    """Every connected OneBot v11 account, by QQ number."""
    return {int(self_id): bot for self_id, bot in nonebot.get_bots().items()
            if isinstance(bot, Bot)}


def to_message(segments: list[dict]) -> Message:
    """Rebuild the stored segments; nothing is parsed as CQ code."""
    return Message([MessageSegment(s["type"], dict(s["data"])) for s in segments])


def error_text(exc: BaseException) -> tuple[str, int | None]:
    """The QQ side's error text (status, message, wording) and retcode of a failed call."""
    if isinstance(exc, ActionFailed):
        info = exc.info
        words = [str(info.get(k) or "") for k in ("message", "wording", "msg")]
        status = str(info.get("status") or "")
        if status not in ("ok", "failed"):
            words.append(status)  # Lagrange reports failed uploads in the status itself
        retcode = info.get("retcode")
        try:
            code = int(retcode) if retcode is not None else None
        except (TypeError, ValueError):
            code = None
        return " ".join(w for w in words if w), code
    return f"{type(exc).__name__}: {getattr(exc, 'msg', None) or exc}", None


def plain_of(message) -> str:
    """The text of a message as QQ echoes it (segment list or CQ string), for comparing."""
    if isinstance(message, str):
        text = _CQ_CODE.sub("", message)
        return (text.replace("&#91;", "[").replace("&#93;", "]").replace("&#44;", ",")
                .replace("&amp;", "&")).strip()
    if isinstance(message, list):
        return "".join(str(s.get("data", {}).get("text", "")) for s in message
                       if isinstance(s, dict) and s.get("type") == "text").strip()
    return ""


class OutboxDispatcher:
    """Sends queued messages, one in flight per account and per target, within the pacer's
    limits, routing, classifying failures and retrying with back-off."""

    def __init__(self, svc: Services, get_bots: BotsGetter = connected_bots,
                 *, now: Callable[[], float] | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.svc = svc
        self.repo = OutboxRepository(svc.db)
        self.get_bots = get_bots
        self.accounts = svc.accounts
        self.now = now or (lambda: svc.clock.now().timestamp())
        self.sleep = sleep
        settings = svc.settings
        self.pacer = SendPacer(settings.send_interval_seconds, settings.send_rate_per_minute)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._pace_restored = False
        self._next_prune_at = float("-inf")
        self._inflight: dict[int, asyncio.Task] = {}  # account -> its send
        self._busy_targets: set[str] = set()
        self._gone: dict[int, asyncio.Event] = {}  # account -> set when it disconnects
        self._members: dict[tuple[int, int, int], bool] = {}  # (account, group, user) resolvable
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
        for task in list(self._inflight.values()):
            task.cancel()
        await asyncio.gather(*self._inflight.values(), return_exceptions=True)

    def account_gone(self, self_id: int) -> None:
        """The account's connection closed: its send in flight ends as unconfirmed now,
        instead of waiting for an answer that will not come."""
        gone = self._gone.get(self_id)
        if gone is not None:
            gone.set()
        self.wake()

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
        """Start (or settle) one message. None when it did; else how long there is nothing
        to do."""
        now = self.now()
        if not self._pace_restored:
            await self.restore_pace(now)
        if now >= self._next_prune_at:
            self._next_prune_at = now + PRUNE_EVERY_SECONDS
            await self.svc.outbox.prune_sent(now)
        bots = self.get_bots()
        if not bots:
            return NO_BOT_RECHECK_SECONDS
        self.accounts.sync(bots.keys(), now)
        heads = [m for m in await self.repo.due_heads(now)
                 if m.target_key not in self._busy_targets]
        if not heads:
            upcoming = await self.repo.next_due_at()
            return IDLE_SECONDS if upcoming is None else max(min(upcoming - now, IDLE_SECONDS),
                                                              0.05)
        wait = IDLE_SECONDS
        for message in sorted(heads, key=self._turn):
            found = routes(self.accounts, bots.keys(), message.target_type, message.target_id,
                           message.kind, message.via_group_id, now)
            if found is None:  # nobody can ever deliver it: the delivery policy decides
                await self._undeliverable(message, bots)
                return None
            for route in found:
                if route.self_id in self._inflight:
                    continue
                delay = self.pacer.delay(message.target_key, now, route.self_id)
                if delay > 0:
                    wait = min(wait, delay)
                    continue
                self._launch(bots[route.self_id], route, message)
                return None
        return max(wait, 0.01)

    def _turn(self, message: OutboxMessage) -> tuple[float, int]:
        """Round-robin order: the target served least recently (never served: first) goes
        next; among those, the oldest row."""
        last = self.pacer.last_sent(message.target_key)
        return (float("-inf") if last is None else last, message.id)

    async def restore_pace(self, now: float) -> None:
        """Rebuild the pacer from the send attempts recorded in the database (start-up), so a
        restart never sends faster than the rate or breaks the per-target interval."""
        since = now - max(PACE_WINDOW_SECONDS, self.svc.settings.send_interval_seconds)
        self.pacer.restore(await self.repo.recent_attempts(since))
        self._pace_restored = True

    async def drain(self, max_steps: int = 100_000) -> None:
        """Step until nothing is pending (or no bot), sleeping through waits and awaiting the
        sends in flight. For tests and benchmarks."""
        for _ in range(max_steps):
            wait = await self.step()
            if wait is None:
                continue
            if self._inflight:
                await asyncio.gather(*self._inflight.values(), return_exceptions=True)
                continue
            if not self.get_bots() or not (await self.repo.counts()).get("pending"):
                return
            await self.sleep(wait)

    async def tick(self) -> None:
        """One step, its send awaited, and the wait it asks for slept (tests, benchmarks)."""
        wait = await self.step()
        await self.settle()
        if wait is not None and self.get_bots():
            await self.sleep(wait)

    async def settle(self) -> None:
        """Wait for the sends in flight (tests)."""
        while self._inflight:
            await asyncio.gather(*self._inflight.values(), return_exceptions=True)

    # one send ------------------------------------------------------------------------------

    def _launch(self, bot: Bot, route: Route, message: OutboxMessage) -> None:
        self.pacer.record(message.target_key, self.now(), route.self_id)
        self._busy_targets.add(message.target_key)
        task = asyncio.create_task(self._attempt(bot, route, message),
                                   name=f"outbox-send-{message.id}")
        self._inflight[route.self_id] = task

        def done(_: asyncio.Task) -> None:
            self._inflight.pop(route.self_id, None)
            self._busy_targets.discard(message.target_key)
            self.wake()

        task.add_done_callback(done)

    async def _attempt(self, bot: Bot, route: Route, message: OutboxMessage) -> None:
        try:
            await self._send(bot, route, message)
        except Exception:
            logger.exception(f"outbox #{message.id}: send attempt failed unexpectedly")

    async def _send(self, bot: Bot, route: Route, message: OutboxMessage) -> None:
        if message.unconfirmed and message.target_type == "group":
            found = await self._in_history(message)
            if found:
                async with self.svc.db.transaction():
                    await self.repo.mark_sent(message.id, self.now(), message.attempted_by)
                self.accounts.sent(message.attempted_by or route.self_id, self.now())
                logger.info(f"outbox #{message.id}: found in the group's history after a "
                            "timeout; not sent again")
                await self.svc.outbox.settle_backlog(message.branch_id)
                return
        if route.group_id is not None and not await self._resolvable(bot, route, message):
            async with self.svc.db.transaction():  # a temp session NapCat could misroute
                await self.repo.mark_retry(message.id, "not resolvable in the group", self.now(),
                                           count=False)
            self.accounts.not_a_friend(route.self_id, message.target_id)
            return
        now = self.now()
        async with self.svc.db.transaction():
            # the row as committed: one read from a transaction that then rolled back (or a
            # number given again since) must not be sent
            stored = await self.repo.mark_attempt(message.id, now, route.self_id)
        if stored is None:
            return
        message = stored
        try:
            await self._call(bot, route, message)
        except Exception as exc:
            await self._failed(message, route, exc)
            return
        # Nothing between the call returning and this mark: it is the whole re-send window.
        async with self.svc.db.transaction():
            await self.repo.mark_sent(message.id, self.now(), route.self_id)
        self.accounts.sent(route.self_id, self.now())
        observe_send(message.kind, "sent")
        await self.svc.outbox.settle_backlog(message.branch_id)

    async def _call(self, bot: Bot, route: Route, message: OutboxMessage) -> None:
        """The OneBot call, ended early as unconfirmed when the account disconnects."""
        timeout = self.svc.settings.failover_seconds
        if message.target_type == "group":
            call = bot.call_api("send_group_msg", group_id=message.target_id,
                                message=to_message(message.segments), _timeout=timeout)
        else:
            params = {"user_id": message.target_id, "message": to_message(message.segments),
                      "_timeout": timeout}
            if route.group_id is not None:  # a temporary session (never for a secret)
                params["group_id"] = route.group_id
            call = bot.call_api("send_private_msg", **params)
        gone = self._gone.setdefault(route.self_id, asyncio.Event())
        gone.clear()
        sending = asyncio.ensure_future(call)
        watching = asyncio.ensure_future(gone.wait())
        try:
            await asyncio.wait({sending, watching}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watching.cancel()
        if not sending.done():
            sending.cancel()
            raise ConnectionAbortedError("timeout: the account disconnected mid-send")
        sending.result()

    async def _failed(self, message: OutboxMessage, route: Route, exc: Exception) -> None:
        text, retcode = error_text(exc)
        failure = classify(text, retcode, message.target_type)
        now = self.now()
        where = f"{message.target_type} {message.target_id} via {route.self_id}"
        if (failure is Failure.TIMEOUT and message.target_type == "private"
                and self.accounts.get(route.self_id).is_friend(message.target_id) is not True):
            failure = Failure.NOT_FRIEND  # an unconfirmed friendship that times out: likely not
        observe_send(message.kind, failure.value)
        if failure is Failure.MUTED:
            until = now + self.svc.settings.mute_pause_seconds
            account = self.accounts.get(route.self_id)
            if not account.muted_in(message.target_id, now):
                self.accounts.mute(route.self_id, message.target_id, until)
            await self._reroute(message, f"muted: {text}")
            logger.warning(f"outbox #{message.id} to {where}: muted there; waiting or "
                           "another account")
            return
        if failure is Failure.REMOVED:
            self.accounts.left(route.self_id, message.target_id)
            await self._reroute(message, f"not in group: {text}")
            logger.warning(f"outbox #{message.id} to {where}: the account is not in the group")
            return
        if failure is Failure.NOT_FRIEND:
            self.accounts.not_a_friend(route.self_id, message.target_id)
            await self._reroute(message, f"not a friend: {text}")
            logger.info(f"outbox #{message.id} to {where}: not a friend of this account")
            return
        if (message.target_type == "group" and message.fallback_segments
                and failure is Failure.TRANSIENT):
            # a group message with a fallback (a picture) that the QQ side refused: its text
            # goes to that group at once, instead of retrying what will be refused again
            async with self.svc.db.transaction():
                await self.repo.mark_failed(message.id, f"refused: {text}", "fallback")
                await self.svc.outbox.to_group(message.target_id, message.fallback_segments,
                                               f"{message.kind}_fallback",
                                               branch_id=message.branch_id)
            logger.warning(f"outbox #{message.id} to {where} refused ({text[:160]}); "
                           "its text goes instead")
            return
        paused_until = self.accounts.failed(route.self_id, now)
        if paused_until is not None:
            await self._risk_paused(route.self_id, paused_until)
        attempts = message.attempts + 1
        unconfirmed = failure is Failure.TIMEOUT
        if attempts > self.svc.settings.send_max_retries:
            await self._give_up(message, f"{failure.value}: {text}")
            return
        retry_in = self.svc.outbox.backoff(attempts)
        async with self.svc.db.transaction():
            await self.repo.mark_retry(message.id, f"{failure.value}: {text}", now + retry_in,
                                       unconfirmed=unconfirmed)
        logger.warning(f"outbox #{message.id} to {where} failed ({failure.value}; "
                       f"{text[:200]}); retry {attempts} in {retry_in:.0f}s")

    async def _reroute(self, message: OutboxMessage, error: str) -> None:
        async with self.svc.db.transaction():
            await self.repo.mark_retry(message.id, error, self.now(), count=False)

    async def _give_up(self, message: OutboxMessage, error: str) -> None:
        where = f"{message.target_type} {message.target_id}"
        if message.target_type == "private":
            await self._undeliverable(message, None, error=error)
            return
        async with self.svc.db.transaction():
            await self.repo.mark_failed(message.id, error, "gave_up")
        logger.error(f"outbox #{message.id} ({message.kind}) to {where} failed for good after "
                     f"{message.attempts + 1} attempts ({error[:200]})")

    async def _undeliverable(self, message: OutboxMessage, bots, *, error: str = "") -> None:
        """Nobody can deliver this private message: the person is told to add the bot (on
        their next command), and the group gets the message's fallback (never the private
        text): its own, or for a personal notice a generic one."""
        policy = policy_of(message.kind)
        fallback = message.fallback_segments
        if fallback is None and policy is Delivery.PERSONAL:
            fallback = [at_segment(message.target_id), text_segment(GENERIC_FALLBACK)]
        group = message.via_group_id if fallback else None
        outcome = "fallback" if group is not None else "hinted"
        async with self.svc.db.transaction():
            await self.repo.mark_failed(message.id, error or "no account can reach the person",
                                        outcome)
            await self.svc.outbox.add_hint(message.target_id, message.kind)
            if group is not None:  # joins a waiting mention of the same notice, if any
                await self.svc.outbox.mention_in_group(group, fallback,
                                                       f"{message.kind}_fallback",
                                                       branch_id=message.branch_id)
        logger.info(f"outbox #{message.id} ({message.kind}, {policy.value}) to private "
                    f"{message.target_id}: undeliverable; {outcome}")

    async def _risk_paused(self, self_id: int, until: float) -> None:
        account = self.accounts.get(self_id)
        logger.warning(f"account {self_id}: {account.pause_reason}; sending paused until "
                       f"{self.svc.clock.format(until, '%m-%d %H:%M:%S')}")
        text = (f"⚠️ 机器人账号 {self_id} {account.pause_reason}，已暂停发送至 "
                f"{self.svc.clock.format(until, '%m-%d %H:%M')}，期间的消息由其他账号发送或稍后"
                "补发。请检查该账号能否在 QQ 里正常发言；/支部 状态 可查看。")
        day = self.svc.clock.now().strftime("%Y-%m-%d")  # told once a day per account
        for user_id in sorted(int(u) for u in nonebot.get_driver().config.superusers
                              if str(u).isdigit()):
            await self.svc.outbox.to_user(user_id, [text_segment(text)], "account_alert",
                                          dedupe_key=f"paused:{self_id}:{day}:{user_id}")

    # checks before a send ------------------------------------------------------------------

    async def _resolvable(self, bot: Bot, route: Route, message: OutboxMessage) -> bool:
        """Whether the QQ side can find the person in the group: NapCat posts a private
        message with a ``group_id`` into the group when it cannot (README, "QQ sides")."""
        key = (route.self_id, int(route.group_id or 0), message.target_id)
        if key not in self._members:
            try:
                info = await bot.call_api("get_group_member_info", group_id=route.group_id,
                                          user_id=message.target_id, no_cache=False)
                self._members[key] = isinstance(info, dict) and bool(info.get("user_id"))
            except Exception:
                self._members[key] = False
        return self._members[key]

    async def _in_history(self, message: OutboxMessage) -> bool | None:
        """Whether a timed-out group message is in the group's history (sent by the account
        that tried), since its first attempt. None: no account could tell."""
        bots = self.get_bots()
        readers = [a.self_id for a in self.accounts.for_group(message.target_id, self.now())
                   if a.self_id in bots]
        offset = self.now() - time.time()  # the bot's clock may run ahead (tests)
        since = (message.first_attempt_at or 0) - offset - HISTORY_SLACK_SECONDS
        wanted = plain_of(message.segments)
        sender = message.attempted_by
        for self_id in readers:
            try:
                data = await bots[self_id].call_api("get_group_msg_history",
                                                    group_id=message.target_id,
                                                    count=HISTORY_COUNT)
            except Exception as exc:
                text, _ = error_text(exc)
                logger.info(f"outbox #{message.id}: history of group {message.target_id} "
                            f"unreadable via {self_id} ({text[:120]})")
                continue
            entries = data.get("messages", []) if isinstance(data, dict) else []
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, dict):
                    continue
                who = entry.get("user_id") or (entry.get("sender") or {}).get("user_id")
                if sender is not None and str(who) != str(sender):
                    continue
                if float(entry.get("time") or 0) < since:
                    continue
                if plain_of(entry.get("message", entry.get("raw_message", ""))) == wanted:
                    return True
            return False
        return None
