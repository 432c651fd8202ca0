"""Build replies from message segments only, so user text is never read as CQ code."""

from __future__ import annotations

from nonebot import logger
from nonebot.adapters.onebot.v11 import Bot, Message, MessageSegment

from domain.text import shorten

__all__ = ["mention", "paginate", "send_private", "shorten", "text"]


def text(content: str) -> Message:
    return Message(MessageSegment.text(content))


def mention(user_id: int, content: str) -> Message:
    """@someone followed by text (never @all: ``user_id`` is a real QQ number)."""
    return Message([MessageSegment.at(int(user_id)), MessageSegment.text(" " + content)])


def paginate(lines: list[str], limit: int) -> list[str]:
    """Join lines into chunks of at most ``limit`` characters."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


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
