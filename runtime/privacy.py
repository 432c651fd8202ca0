"""Keep private chats and private problems out of the log.

NoneBot logs every incoming event with its text (at SUCCESS, above INFO). What a person writes
to the bot privately (a problem raised privately, its progress notes, survey answers) must not
reach the log, so:

- a private message is logged with its number, sender and length only;
- a group message that is a 民情 command (``/反映``, ``/民情``) is logged with its first words
  only: its text may be about a problem raised privately or anonymously;
- an event NoneBot has no model for is logged without its message: NapCat's ``message_sent``
  echo of what the bot itself sent (reportSelfMessage: private notices included), and a
  message event that failed to parse (a string message id) and fell back to the base model;
- an event's ``repr`` (NoneBot's TRACE lines print events whole) shows its message's length.

Errors elsewhere name the record (``outbox #12``, ``民情 #3``), never its text.
"""

from __future__ import annotations

from nonebot.adapters.onebot.v11 import Event, GroupMessageEvent, PrivateMessageEvent
from nonebot.compat import model_dump
from nonebot.utils import escape_tag

# group commands whose text may be about a private problem: logged with their first words only
PRIVATE_COMMANDS = ("反映", "feedback", "民情")
KEPT_WORDS = 3  # "/民情 进展 #3" — the command, the sub-command and the number
# what a person wrote: a message, or the words sent with a friend or group request
MESSAGE_FIELDS = ("message", "raw_message", "original_message", "comment")
COMMAND_STARTS = ("/", "／")

_originals = {
    PrivateMessageEvent: PrivateMessageEvent.get_event_description,
    GroupMessageEvent: GroupMessageEvent.get_event_description,
    Event: Event.get_event_description,
}


_original_repr_args = Event.__repr_args__


def _private_description(self: PrivateMessageEvent) -> str:
    return (f"Message {self.message_id} from {self.user_id} "
            f"(私聊 {len(self.get_plaintext())} 字，内容不记录)")


def is_private_command(text: str) -> bool:
    """A group message that may carry a private problem's text (a 民情 command)."""
    text = text.lstrip()
    if not text or text[0] not in COMMAND_STARTS:
        return False
    return text[1:].lstrip().startswith(PRIVATE_COMMANDS)


def _group_description(self: GroupMessageEvent) -> str:
    text = self.get_plaintext()
    if not is_private_command(text):
        return _originals[GroupMessageEvent](self)
    words = text.split()
    kept = " ".join(words[:KEPT_WORDS])
    hidden = len(text.strip()) - len(kept)
    rest = f" …（其余 {hidden} 字不记录）" if len(words) > KEPT_WORDS else ""
    return (f"Message {self.message_id} from {self.user_id}@[群:{self.group_id}] "
            f"{escape_tag(repr(kept + rest))}")


def _redacted_description(self: Event) -> str:
    """Every field but the message's, whose length is given instead."""
    fields = model_dump(self)
    for name in MESSAGE_FIELDS:
        if name in fields:
            fields[name] = f"<{len(str(fields[name]))} 字符，内容不记录>"
    return escape_tag(str(fields))


def _redacted_repr_args(self: Event):
    """An event's fields for its ``repr`` (NoneBot's TRACE lines print events), the message's
    length instead of its text."""
    for name, value in _original_repr_args(self):
        if name in MESSAGE_FIELDS:
            value = f"<{len(str(value))} 字符，内容不记录>"
        yield name, value


def hide_private_text() -> None:
    """Log private messages, 民情 commands and unknown events without their text, and print no
    event's text in its ``repr`` (idempotent)."""
    PrivateMessageEvent.get_event_description = _private_description  # type: ignore[method-assign]
    GroupMessageEvent.get_event_description = _group_description  # type: ignore[method-assign]
    Event.get_event_description = _redacted_description  # type: ignore[method-assign]
    Event.__repr_args__ = _redacted_repr_args  # type: ignore[method-assign]


def show_private_text() -> None:
    """Undo ``hide_private_text`` (for tests)."""
    for cls, original in _originals.items():
        cls.get_event_description = original  # type: ignore[method-assign]
    Event.__repr_args__ = _original_repr_args  # type: ignore[method-assign]
