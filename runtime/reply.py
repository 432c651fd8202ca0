"""Build replies from message segments only, so user text is never read as CQ code."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

from nonebot import logger
from nonebot.adapters.onebot.v11 import Bot, Event, Message, MessageSegment

from domain.text import paginate, shorten
from runtime.charts import NoFont

# paginate and shorten live in domain/text (domain code pages too); plugins take them from here
__all__ = ["mention", "paginate", "send_private", "shorten", "text"]


def text(content: str) -> Message:
    return Message(MessageSegment.text(content))


def mention(user_id: int, content: str) -> Message:
    """@someone followed by text (never @all: ``user_id`` is a real QQ number)."""
    return Message([MessageSegment.at(int(user_id)), MessageSegment.text(" " + content)])




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


NO_FONT_NOTE = "（没有可用的中文字体，暂时不能生成图片，先发文字版。）"
REFUSED_NOTE = "（QQ 端没有接受图片，改发文字版。）"


def image(png: bytes) -> Message:
    """A picture as a base64 image segment: it travels inside the message, so it reaches a QQ
    side on another machine."""
    return Message(MessageSegment.image("base64://" + base64.b64encode(png).decode("ascii")))


async def send_picture(bot: Bot, event: Event, draw: Callable[[], Awaitable[bytes]]
                       ) -> str | None:
    """Draw and send a picture in reply to ``event``. None when it was sent; otherwise the
    one-line note to put before the text reply (no CJK font, or the QQ side refused it)."""
    try:
        png = await draw()
    except NoFont:
        return NO_FONT_NOTE
    try:
        await bot.send(event, image(png))
    except Exception as exc:
        logger.warning(f"picture of {len(png)} bytes refused by the QQ side ({exc}); "
                       "sending the text")
        return REFUSED_NOTE
    return None
