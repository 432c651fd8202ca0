"""Fake OneBot v11 events and a reply matcher for nonebug tests."""

from __future__ import annotations

import itertools
import time

from nonebot.adapters.onebot.v11 import (
    Bot,
    GroupMessageEvent,
    Message,
    MessageSegment,
    PrivateMessageEvent,
)
from nonebot.adapters.onebot.v11.event import Sender

GROUP = 700001
OTHER_GROUP = 700002
SELF_ID = "42"
_ids = itertools.count(1)
# Each fake event happens a second after the previous one: a real member cannot type twice in
# the same second, and the bot treats the same text from the same person at the same event
# time as a re-delivery.
_times = itertools.count(int(time.time()))


def _message(content: str | Message) -> Message:
    # A plain str is taken as typed text, never as CQ code.
    return content if isinstance(content, Message) else Message(MessageSegment.text(content))


def group_message(user_id: int, content: str | Message, *, group_id: int = GROUP,
                  role: str = "member", to_me: bool = False) -> GroupMessageEvent:
    message = _message(content)
    return GroupMessageEvent(
        time=next(_times), self_id=int(SELF_ID), post_type="message", sub_type="normal",
        user_id=user_id, message_type="group", message_id=next(_ids), message=message,
        original_message=message, raw_message=str(message), font=0,
        sender=Sender(user_id=user_id, nickname=f"u{user_id}", role=role),
        group_id=group_id, to_me=to_me,
    )


def private_message(user_id: int, content: str | Message) -> PrivateMessageEvent:
    message = _message(content)
    return PrivateMessageEvent(
        time=next(_times), self_id=int(SELF_ID), post_type="message", sub_type="friend",
        user_id=user_id, message_type="private", message_id=next(_ids), message=message,
        original_message=message, raw_message=str(message), font=0,
        sender=Sender(user_id=user_id, nickname=f"u{user_id}"), to_me=True,
    )


def temp_message(user_id: int, content: str | Message, group_id: int = GROUP
                 ) -> PrivateMessageEvent:
    """A private message from someone who is not the bot's friend: a temporary session
    through a group (NapCat shape: ``sub_type`` "group", the group at the top level)."""
    message = _message(content)
    event = PrivateMessageEvent(
        time=next(_times), self_id=int(SELF_ID), post_type="message", sub_type="group",
        user_id=user_id, message_type="private", message_id=next(_ids), message=message,
        original_message=message, raw_message=str(message), font=0,
        sender=Sender(user_id=user_id, nickname=f"u{user_id}"), to_me=True,
    )
    return event


def at(user_id: int, before: str = "", after: str = "") -> Message:
    """A message mixing text with an @-mention, as QQ sends it."""
    parts = []
    if before:
        parts.append(MessageSegment.text(before))
    parts.append(MessageSegment.at(user_id))
    if after:
        parts.append(MessageSegment.text(after))
    return Message(parts)


class Says:
    """Matches a sent message that contains every fragment, built only of text (and @) segments.

    nonebug compares ``expected != actual`` with the expected value on the left, so this
    object decides. ``at`` requires an @-mention of that QQ number first.
    """

    def __init__(self, *fragments: str, at: int | None = None, absent: tuple[str, ...] = ()):
        self.fragments = fragments
        self.at = at
        self.absent = absent
        self.seen: Message | None = None

    def __eq__(self, other) -> bool:
        message = other if isinstance(other, Message) else Message(MessageSegment.text(str(other)))
        self.seen = message
        kinds = {seg.type for seg in message}
        if not kinds <= {"text", "at"}:
            return False
        mentions = [seg.data["qq"] for seg in message if seg.type == "at"]
        if self.at is None and mentions:
            return False
        if self.at is not None and mentions != [str(self.at)] and mentions != [self.at]:
            return False
        content = "".join(seg.data["text"] for seg in message if seg.type == "text")
        return all(f in content for f in self.fragments) and not any(
            a in content for a in self.absent
        )

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    def __repr__(self) -> str:
        return f"Says({self.fragments!r}, at={self.at})"


async def converse(app, *steps, bot_cls=Bot):
    """Run (event, Says…) steps through every matcher, each expecting its replies in order."""
    for event, *replies in steps:
        async with app.test_matcher() as ctx:
            bot = ctx.create_bot(base=bot_cls, self_id=SELF_ID)
            ctx.receive_event(bot, event)
            for reply in replies:
                ctx.should_call_send(event, reply, result={"message_id": 1})
