"""Keep private chats out of the log.

NoneBot logs every incoming event with its text (at SUCCESS, above INFO). What a person writes to
the bot privately (a problem raised privately, its progress notes, survey answers) must not reach
the log, so a private message is logged with its number, sender and length only.
"""

from __future__ import annotations

from nonebot.adapters.onebot.v11 import PrivateMessageEvent

_original = PrivateMessageEvent.get_event_description


def _private_description(self: PrivateMessageEvent) -> str:
    return (f"Message {self.message_id} from {self.user_id} "
            f"(私聊 {len(self.get_plaintext())} 字，内容不记录)")


def hide_private_text() -> None:
    """Log private messages without their text (idempotent)."""
    PrivateMessageEvent.get_event_description = _private_description  # type: ignore[method-assign]


def show_private_text() -> None:
    """Undo ``hide_private_text`` (for tests)."""
    PrivateMessageEvent.get_event_description = _original  # type: ignore[method-assign]
