"""What the bot sends on its own: queueing (persistent) and pacing (per group and global)."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections import deque
from collections.abc import Iterable

from config import BranchConfig
from domain.clock import Clock
from domain.delivery import policy_of
from storage.branches import BranchRepository
from storage.database import Database
from storage.members import MemberRepository
from storage.outbox import OutboxRepository

log = logging.getLogger("zhibu.outbox")

# At most this many 书记/支委 are told privately about one branch's backlog.
BACKLOG_WARN_MAX_RECIPIENTS = 3
# Targets the pacer remembers before it forgets those quiet for over a minute (memory stays
# bounded however many people are written to).
PACER_TARGETS_MAX = 10_000
# Most people one waiting @-mention notice addresses (``mention_in_group``).
MAX_MENTIONS = 20
# Sent rows deleted per transaction while pruning, so commands get the database in between.
PRUNE_BATCH = 2000


def text_segment(content: str) -> dict:
    return {"type": "text", "data": {"text": content}}


def image_segment(png: bytes) -> dict:
    """A picture carried inside the message (``base64://``), so it reaches a QQ side on
    another machine."""
    return {"type": "image", "data": {"file": "base64://" + base64.b64encode(png).decode()}}


def at_segment(user_id: int) -> dict:
    """An @ of one real person; there is deliberately no way to build @全体成员 here."""
    return {"type": "at", "data": {"qq": str(int(user_id))}}


class SendPacer:
    """Decides how long to wait before the next send, from the times of earlier sends.

    Per target (a group or a private chat), ``interval`` seconds between two messages, whichever
    account sends them. Per account, sends are spread evenly, one every ``60 / per_minute``
    seconds, and never more than ``per_minute`` in any 60-second window: a backlog never spends
    a minute's allowance in its first seconds, so another branch's message waits at most one
    spacing plus its turn. Pure: times are passed in.
    """

    def __init__(self, interval: float, per_minute: int) -> None:
        self.interval = interval
        self.per_minute = per_minute
        self.spacing = 60.0 / per_minute
        self._last: dict[str, float] = {}
        self._accounts: dict[int, tuple[float, deque[float]]] = {}

    def _window(self, account: int, now: float) -> deque[float]:
        window = self._accounts.get(account, (0.0, deque()))[1]
        while window and window[0] <= now - 60:
            window.popleft()
        return window

    def delay(self, target: str, now: float, account: int = 0) -> float:
        """Seconds to wait before ``account`` may send to ``target`` (0: now)."""
        wait = 0.0
        last = self._last.get(target)
        if last is not None:
            wait = max(wait, last + self.interval - now)
        if account in self._accounts:
            account_last, _ = self._accounts[account]
            wait = max(wait, account_last + self.spacing - now)
            window = self._window(account, now)
            if len(window) >= self.per_minute:
                wait = max(wait, window[0] + 60 - now)
        return max(wait, 0.0)

    def record(self, target: str, now: float, account: int = 0) -> None:
        if len(self._last) >= PACER_TARGETS_MAX:  # forget targets quiet for over a minute
            horizon = now - max(self.interval, 60.0)
            self._last = {t: at for t, at in self._last.items() if at > horizon}
        self._last[target] = max(now, self._last.get(target, now))
        window = self._window(account, now)
        window.append(now)
        last = self._accounts.get(account, (now, window))[0]
        self._accounts[account] = (max(last, now), window)

    def last_sent(self, target: str) -> float | None:
        """When ``target`` was last sent to (as far as this pacer knows)."""
        return self._last.get(target)

    def restore(self, sends: Iterable[tuple]) -> None:
        """Replay earlier sends (target, time[, account]), e.g. read back from the database at
        start-up."""
        for send in sorted(sends, key=lambda s: s[1]):
            target, at = send[0], send[1]
            account = send[2] if len(send) > 2 and send[2] is not None else 0
            self.record(target, at, account)


class OutboxService:
    """Queue messages for the dispatcher; they survive restarts until sent."""

    def __init__(self, db: Database, settings: BranchConfig, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.repo = OutboxRepository(db)
        self.branches = BranchRepository(db)
        self.members = MemberRepository(db)
        self._listeners: list = []
        self._warned: set[int] | None = None  # branches told about their backlog (db-backed)
        self._hinted: set[int] | None = None  # people with a friend hint waiting (db-backed)

    def on_enqueue(self, callback) -> None:
        """``callback()`` runs after every enqueue (the dispatcher wakes up)."""
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in self._listeners:
            callback()

    async def to_group(self, group_id: int, segments: list[dict], kind: str, *,
                       branch_id: int | None = None, dedupe_key: str | None = None) -> int | None:
        """Queue a group message. Like ``to_branch`` and ``to_user``: call it inside the
        transaction of the change that causes the message, so both are kept or neither."""
        async with self.db.transaction():
            queued = await self.repo.add(
                branch_id=branch_id, target_type="group", target_id=group_id,
                segments=segments, kind=kind, now=self.clock.now().timestamp(),
                dedupe_key=dedupe_key,
            )
            self._after_enqueue(branch_id)
        return queued

    async def mention_in_group(self, group_id: int, segments: list[dict], kind: str, *,
                               branch_id: int | None = None) -> int | None:
        """Queue an @-mention notice (``[at, text]``: a private message's fallback). While one
        with the same text and kind waits unsent for that group, the person is added to its
        mentions instead (up to ``MAX_MENTIONS``), so 100 people who cannot be reached
        privately make a few messages, not 100."""
        if (len(segments) == 2 and segments[0]["type"] == "at"
                and segments[1]["type"] == "text"):
            async with self.db.transaction():
                if await self.repo.add_mention(group_id, kind, segments[0],
                                               segments[1]["data"]["text"], MAX_MENTIONS):
                    return None
                return await self.to_group(group_id, segments, kind, branch_id=branch_id)
        return await self.to_group(group_id, segments, kind, branch_id=branch_id)

    async def to_branch(self, branch_id: int, segments: list[dict], kind: str, *,
                        dedupe_key: str | None = None, fallback: list[dict] | None = None) -> int:
        """Queue one copy per group bound to the branch; returns how many were queued.
        ``fallback`` goes to a group instead where the message is refused (a picture)."""
        groups = await self.branches.groups(branch_id)
        now = self.clock.now().timestamp()
        queued = 0
        async with self.db.transaction():
            for group_id in groups:
                key = f"{dedupe_key}:{group_id}" if dedupe_key else None
                if await self.repo.add(branch_id=branch_id, target_type="group",
                                       target_id=group_id, segments=segments, kind=kind,
                                       now=now, dedupe_key=key, fallback=fallback):
                    queued += 1
            self._after_enqueue(branch_id)
        return queued

    async def to_user(self, user_id: int, segments: list[dict], kind: str, *,
                      via_group_id: int | None = None, branch_id: int | None = None,
                      dedupe_key: str | None = None,
                      fallback: list[dict] | None = None) -> int | None:
        """Queue a private message; ``fallback`` (with ``via_group_id``) is sent to that group
        instead if the private message cannot be delivered. ``kind`` must be listed in
        ``domain.delivery.KIND_POLICY``. Call it inside the transaction of the change that
        causes the message, so both are kept or neither."""
        policy_of(kind)  # refuses a kind nobody decided a policy for
        async with self.db.transaction():
            queued = await self.repo.add(
                branch_id=branch_id, target_type="private", target_id=user_id,
                via_group_id=via_group_id, segments=segments, kind=kind,
                now=self.clock.now().timestamp(), dedupe_key=dedupe_key, fallback=fallback,
            )
            self._after_enqueue(branch_id)
        return queued

    # people to tell to add the bot -------------------------------------------------------

    async def _hinted_users(self) -> set[int]:
        if self._hinted is None:
            self._hinted = await self.repo.hinted_users()
        return self._hinted

    async def add_hint(self, user_id: int, kind: str) -> None:
        """A private message of ``kind`` could not reach the person: their next command's reply
        tells them, once, to add the bot (call inside the transaction that settles the row)."""
        await self._hinted_users()
        await self.repo.add_hint(user_id, kind, self.clock.timestamp())
        self._hinted.add(user_id)

    async def take_hint(self, user_id: int) -> str | None:
        """The kind of a message that missed the person since they last heard, forgetting it;
        None (without a database trip) for nearly everyone."""
        if user_id not in await self._hinted_users():
            return None
        async with self.db.transaction():
            kind = await self.repo.take_hint(user_id)
        self._hinted.discard(user_id)
        return kind
    def _after_enqueue(self, branch_id: int | None) -> None:
        """Once the row is committed (never for a rolled-back one): wake the dispatcher and
        check the branch's backlog."""

        async def then() -> None:
            self._notify()
            await self.check_backlog(branch_id)

        self.db.after_commit(then, key=("outbox", id(self), branch_id))

    # backlog warning -----------------------------------------------------------------------

    async def _warned_branches(self) -> set[int]:
        if self._warned is None:
            self._warned = await self.repo.warned_branches()
        return self._warned

    async def check_backlog(self, branch_id: int | None) -> bool:
        """Warn the branch's admins once when its pending queue passes ``outbox_backlog_warn``.

        Returns True when a warning was queued now. A branch already warned is not warned again
        until its backlog has cleared (see ``settle_backlog``), across restarts too.
        """
        if branch_id is None or branch_id in await self._warned_branches():
            return False
        threshold = self.settings.outbox_backlog_warn
        pending = await self.repo.pending_of_branch(branch_id, threshold + 1)
        if pending <= threshold:
            return False
        now = self.clock.now().timestamp()
        async with self.db.transaction():
            if not await self.repo.add_backlog_warning(branch_id, pending, int(now)):
                self._warned.add(branch_id)
                return False
            text = (f"⚠️ 支部 #{branch_id} 待发送的消息已积压超过 {threshold} 条，新的提醒和公告"
                    "会延迟发出。请发送 /提醒 列表 检查是否有过于频繁的提醒，"
                    "必要时暂停或删除。（积压消除前不再重复提示）")
            recipients = await self._backlog_recipients(branch_id)
            groups = await self.branches.groups(branch_id)
            via = groups[0] if groups else None
            for user_id in recipients:
                await self.repo.add(branch_id=branch_id, target_type="private",
                                    target_id=user_id, via_group_id=via,
                                    segments=[text_segment(text)], kind="backlog_warning",
                                    now=now)
            if not recipients and via is not None:
                await self.repo.add(branch_id=branch_id, target_type="group", target_id=via,
                                    segments=[text_segment(text)], kind="backlog_warning",
                                    now=now)
        self._warned.add(branch_id)
        told = (", ".join(map(str, recipients)) if recipients
                else f"group {via}" if via is not None else "nobody to tell")
        log.warning("branch #%s has more than %s messages pending: warned %s",
                    branch_id, threshold, told)
        self._notify()
        return True

    async def _backlog_recipients(self, branch_id: int) -> list[int]:
        """The branch's 书记 first, then 支委; at most ``BACKLOG_WARN_MAX_RECIPIENTS``."""
        admins = [m for m in await self.members.list_active(branch_id) if m.is_admin]
        admins.sort(key=lambda m: (not m.is_secretary, m.user_id))
        return [m.user_id for m in admins[:BACKLOG_WARN_MAX_RECIPIENTS]]

    async def settle_backlog(self, branch_id: int | None) -> bool:
        """After a row of the branch left the queue: forget the warning once the backlog cleared.

        Cleared means at most half the threshold is pending, so a queue hovering around the
        threshold does not warn again and again. Returns True when the warning was forgotten.
        """
        if branch_id is None or branch_id not in await self._warned_branches():
            return False
        limit = self.settings.outbox_backlog_warn // 2
        if await self.repo.pending_of_branch(branch_id, limit + 1) > limit:
            return False
        async with self.db.transaction():
            await self.repo.clear_backlog_warning(branch_id)
        self._warned.discard(branch_id)
        log.info("branch #%s backlog cleared", branch_id)
        return True

    # retention -----------------------------------------------------------------------------

    async def prune_sent(self, now: float) -> int:
        """Delete rows sent more than ``outbox_keep_days`` ago; failed and pending rows stay.

        Outbox rows are delivery bookkeeping, not records (the ledger and the feature tables
        are), so deleting them loses nothing. Done in batches, one transaction each.
        """
        before = now - self.settings.outbox_keep_days * 86400
        total = 0
        while True:
            async with self.db.transaction():
                gone = await self.repo.prune_sent(before, PRUNE_BATCH)
            total += gone
            if gone < PRUNE_BATCH:
                break
            await asyncio.sleep(0)  # let waiting commands use the database
        if total:
            log.info("pruned %s outbox rows sent before %s", total, self.clock.format(before))
        return total

    def backoff(self, attempts: int) -> float:
        """Seconds before retry number ``attempts`` (1-based): base × 2^(attempts-1)."""
        return self.settings.send_retry_base_seconds * (2 ** (attempts - 1))
