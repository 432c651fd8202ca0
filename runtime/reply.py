"""Build replies from message segments only, so user text is never read as CQ code."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

from nonebot import logger
from nonebot.adapters.onebot.v11 import Bot, Event, Message, MessageSegment

from domain.delivery import Failure, classify
from domain.text import paginate, shorten
from runtime.charts import NoFont

# paginate and shorten live in domain/text (domain code pages too); plugins take them from here
__all__ = ["mention", "paginate", "send_private", "shorten", "text"]


def text(content: str) -> Message:
    return Message(MessageSegment.text(content))


def mention(user_id: int, content: str) -> Message:
    """@someone followed by text (never @all: ``user_id`` is a real QQ number)."""
    return Message([MessageSegment.at(int(user_id)), MessageSegment.text(" " + content)])




async def send_private(bot: Bot, user_id: int, group_id: int | None, content: str,
                       kind: str = "private_list") -> bool:
    """A secret (a code, a link, names…) to one person, privately, as the delivery policy says
    (``domain/delivery.py``): only to a friend, through an account they are a friend of, and
    never with a ``group_id`` (a QQ side may post that into the group). ``group_id`` is where
    the request came from (for the log). False when it could not be delivered: the person is
    then told, on their next command, to add the bot; the caller tells the sender now."""
    from runtime import lifecycle
    from runtime.outbox import connected_bots, error_text

    svc = lifecycle.services()
    accounts = svc.accounts
    bots = connected_bots() or {int(bot.self_id): bot}
    now = svc.clock.timestamp()
    accounts.sync(bots.keys(), now)
    order = [a.self_id for a in accounts.for_friend(user_id, now) if a.self_id in bots]
    if int(bot.self_id) in order:  # the account the person talks to, first
        order.remove(int(bot.self_id))
        order.insert(0, int(bot.self_id))
    for self_id in order:
        try:
            await bots[self_id].call_api("send_private_msg", user_id=user_id,
                                         message=text(content))
        except Exception as exc:
            error, retcode = error_text(exc)
            failure = classify(error, retcode, "private")
            account = accounts.get(self_id)
            if failure in (Failure.NOT_FRIEND, Failure.TIMEOUT) and \
                    account.is_friend(user_id) is not True:
                accounts.not_a_friend(self_id, user_id)
            logger.warning(f"{kind} to {user_id} via {self_id} failed ({failure.value}: "
                           f"{error[:160]})")
            continue
        accounts.sent(self_id, svc.clock.timestamp())
        return True
    async with svc.db.transaction():
        await svc.outbox.add_hint(user_id, kind)
    where = f" (asked in group {group_id})" if group_id else ""
    logger.info(f"{kind} to {user_id} not delivered: not a friend of any account{where}")
    return False
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
    from runtime.replies import reply_gate  # paced like every reply in a group

    try:
        await reply_gate.send(bot, event, image(png))
    except Exception as exc:
        logger.warning(f"picture of {len(png)} bytes refused by the QQ side ({exc}); "
                       "sending the text")
        return REFUSED_NOTE
    return None
