"""Replies to commands in a group keep the group's pace; those that pile up meanwhile go as one.

The outgoing queue paces what the bot sends on its own; replies are paced here. A group gets
at most one reply every ``reply_interval_seconds``. A reply that finds the group quiet goes at
once, exactly as typed; replies that arrive while the group waits are merged into one message
that addresses each person ("@甲 @乙 签到成功：…" when they are the same, one line per person
otherwise), split only where it would pass ``reply_max_chars``. So 200 members checking in at
once get a handful of messages, not 200, and nobody waits for 200 sends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from nonebot import logger
from nonebot.adapters.onebot.v11 import (
    Bot,
    GroupMessageEvent,
    Message,
    MessageEvent,
    MessageSegment,
)

from runtime import lifecycle

MENTION_CHARS = 12  # what an @-mention takes on screen ("@张三丰 "), for the length limit


@dataclass
class _Pending:
    bot: Bot
    event: GroupMessageEvent
    message: Message
    done: asyncio.Future


def _plain(message: Message) -> str | None:
    """The text of a text-only message; None if it holds anything else (it is not merged)."""
    if any(seg.type != "text" for seg in message):
        return None
    return "".join(seg.data.get("text", "") for seg in message)


def merge(items: list[tuple[int, Message]]) -> Message:
    """One message answering ``(user_id, reply)`` pairs that waited for their turn, so each
    addresses its person: the same reply to several people is said once after all their
    @-mentions. A lone reply that is not plain text keeps its segments after the mention."""
    if len(items) == 1 and _plain(items[0][1]) is None:
        user_id, message = items[0]
        return Message([MessageSegment.at(user_id), MessageSegment.text(" ")]) + message
    by_text: dict[str, list[int]] = {}
    for user_id, message in items:
        people = by_text.setdefault(_plain(message) or "", [])
        if user_id not in people:
            people.append(user_id)
    merged = Message()
    for i, (text, people) in enumerate(by_text.items()):
        if i:
            merged.append(MessageSegment.text("\n"))
        for user_id in people:
            merged.append(MessageSegment.at(user_id))
        merged.append(MessageSegment.text(" " + text))
    return merged


def carrier(bot: Bot, group_id: int) -> Bot:
    """The account that answers in the group: the one that received the command, unless it
    is paused (risk control) or muted there; then another connected account in the group."""
    from runtime.outbox import connected_bots

    svc = lifecycle.services()
    now = svc.clock.timestamp()
    account = svc.accounts.get(int(bot.self_id))
    if not account.paused(now) and not account.muted_in(group_id, now):
        return bot
    bots = connected_bots()
    for other in svc.accounts.for_group(group_id, now):
        if other.self_id in bots and other.self_id != account.self_id:
            return bots[other.self_id]
    return bot


class ReplyGate:
    """Per group: when the last reply went, and the replies waiting for the next turn."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._last: dict[int, float] = {}
        self._waiting: dict[int, list[_Pending]] = {}
        self._flushers: dict[int, asyncio.Task] = {}

    @staticmethod
    def _settings():
        settings = lifecycle.services().settings
        return settings.reply_interval_seconds, settings.reply_max_chars

    async def send(self, bot: Bot, event: MessageEvent, message: Message) -> None:
        """Reply to ``event``; in a group, paced and merged as the module says. Raises what
        sending raised (the caller logs it)."""
        interval, _ = self._settings()
        if not isinstance(event, GroupMessageEvent):
            await bot.send(event, message)  # a private chat stays with its account
            return
        bot = carrier(bot, int(event.group_id))
        if interval <= 0:
            await bot.send(event, message)
            return
        group = int(event.group_id)
        now = self.clock()
        if group not in self._waiting and now - self._last.get(group, float("-inf")) >= interval:
            self._last[group] = now
            await bot.send(event, message)
            return
        done = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(group, []).append(_Pending(bot, event, message, done))
        if group not in self._flushers:
            self._flushers[group] = asyncio.create_task(self._flush(group))
        await done

    async def _flush(self, group: int) -> None:
        try:
            while self._waiting.get(group):
                interval, limit = self._settings()
                wait = self._last.get(group, float("-inf")) + interval - self.clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                batch = self._take(group, limit)
                self._last[group] = self.clock()
                first = batch[0]
                try:
                    await first.bot.send(first.event, merge(
                        [(int(p.event.user_id), p.message) for p in batch]))
                except Exception as exc:
                    for pending in batch:
                        if not pending.done.done():
                            pending.done.set_exception(exc)
                    continue
                for pending in batch:
                    if not pending.done.done():
                        pending.done.set_result(None)
                if len(batch) > 1:
                    logger.info(f"group {group}: {len(batch)} replies sent as one")
        finally:
            self._flushers.pop(group, None)
            if not self._waiting.get(group):
                self._waiting.pop(group, None)

    def _take(self, group: int, limit: int) -> list[_Pending]:
        """The next replies that go as one message: text-only ones while the merged message
        stays within ``limit`` characters (at least one), or a single other one. People take
        turns: one reply each in arrival order, then a second each, and so on, so someone who
        sent one command is answered in the next message even behind another's twenty."""
        waiting = self._waiting[group]
        if _plain(waiting[0].message) is None:
            return [waiting.pop(0)]
        rounds: dict[int, int] = {}
        order = []
        for index, pending in enumerate(waiting):
            user = int(pending.event.user_id)
            rounds[user] = rounds.get(user, -1) + 1
            order.append((rounds[user], index))
        chosen: list[int] = []
        texts: set[str] = set()
        size = 0
        for _, index in sorted(order):
            text = _plain(waiting[index].message)
            if text is None:
                continue
            grown = size + MENTION_CHARS + (0 if text in texts else len(text) + 1)
            if chosen and grown > limit:
                break
            size = grown
            texts.add(text)
            chosen.append(index)
        picked = set(chosen)
        batch = [waiting[i] for i in sorted(picked)]
        self._waiting[group] = [p for i, p in enumerate(waiting) if i not in picked]
        return batch


reply_gate = ReplyGate()
