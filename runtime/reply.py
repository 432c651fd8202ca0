"""Build replies from message segments only, so user text is never read as CQ code."""

from __future__ import annotations

from nonebot import logger
from nonebot.adapters.onebot.v11 import Bot, Message, MessageSegment

from domain.text import paginate  # noqa: F401  (re-exported: plugins page their replies)


def text(content: str) -> Message:
    return Message(MessageSegment.text(content))


def mention(user_id: int, content: str) -> Message:
    """@someone followed by text (never @all: ``user_id`` is a real QQ number)."""
    return Message([MessageSegment.at(int(user_id)), MessageSegment.text(" " + content)])


def shorten(content: str, size: int = 30) -> str:
    return content if len(content) <= size else content[: size - 1] + "…"


async def send_private(bot: Bot, user_id: int, group_id: int | None, content: str) -> bool:
    """Private message; through the group (temp session) for non-friends. False if it failed."""
    params = {"user_id": user_id, "message": text(content)}
    if group_id:
        params["group_id"] = group_id
    try:
        await bot.call_api("send_private_msg", **params)
    except Exception as exc:
        logger.warning(f"private message to {user_id} failed: {exc}")
        return False
    return True
