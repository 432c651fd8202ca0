"""Keeps the accounts registry (``domain/accounts.py``) in step with the QQ sides.

At connect each account is asked what it is (``get_version_info``), where it is
(``get_group_list``) and whom it knows (``get_friend_list``); notices keep that current (group
join and leave, mutes, new friends). Friend requests are answered as ``friend_auto_accept``
says, and a new friend is greeted. Superusers hear, once, of an account that stays down.
Every answer is read defensively: a QQ side that cannot say leaves the fact unknown.
"""

from __future__ import annotations

import asyncio
import contextlib

from nonebot import get_driver, logger
from nonebot.adapters.onebot.v11 import Bot

from domain.accounts import implementation_of
from domain.outbox import text_segment
from domain.services import Services
from runtime import lifecycle
from runtime.outbox import error_text

WATCH_EVERY_SECONDS = 30.0
GREETING = ("你好，我是支部助手 🤖 加了好友，签到码、投屏链接、民情进展、活动候补转正等私聊消息"
            "都能送到这里。\n常用：/我的 /签到 <码> /笔记 <内容> /心愿 /反映 <问题>；"
            "发送 /帮助 查看全部功能。")


def _svc() -> Services:
    return lifecycle.services()


def _ids(answer, key: str) -> set[int] | None:
    """The ``key`` of every item of a list answer; None when the answer is not a list."""
    if isinstance(answer, dict) and isinstance(answer.get("data"), list):
        answer = answer["data"]
    if not isinstance(answer, list):
        return None
    found = set()
    for item in answer:
        with contextlib.suppress(TypeError, ValueError, AttributeError):
            found.add(int(item.get(key)))
    return found


async def _ask(bot: Bot, action: str, **params):
    try:
        return await bot.call_api(action, **params)
    except Exception as exc:
        text, _ = error_text(exc)
        logger.info(f"account {bot.self_id}: {action} unanswered ({text[:120]})")
        return None


async def learn(bot: Bot) -> None:
    """Ask a newly connected account what it is, where it is and whom it knows."""
    accounts = _svc().accounts
    account = accounts.get(int(bot.self_id))
    version = await _ask(bot, "get_version_info")
    if isinstance(version, dict):
        account.app_name = str(version.get("app_name") or "")
        account.app_version = str(version.get("app_version") or "")
    groups = _ids(await _ask(bot, "get_group_list"), "group_id")
    if groups is not None:
        account.groups = groups
        account.removed -= groups
    friends = _ids(await _ask(bot, "get_friend_list"), "user_id")
    if friends is not None:
        account.friends = friends
        account.not_friends -= friends
    logger.info(
        f"account {bot.self_id}: {account.app_name or '未知实现'} {account.app_version}, "
        f"{'?' if groups is None else len(groups)} groups, "
        f"{'?' if friends is None else len(friends)} friends")


async def connected(bot: Bot) -> None:
    svc = _svc()
    svc.accounts.connect(int(bot.self_id), svc.clock.timestamp())
    try:
        await learn(bot)
    finally:
        lifecycle.wake_outbox()


async def disconnected(bot: Bot) -> None:
    svc = _svc()
    svc.accounts.disconnect(int(bot.self_id), svc.clock.timestamp())
    lifecycle.account_gone(int(bot.self_id))
    logger.warning(f"account {bot.self_id} disconnected")


# notices -----------------------------------------------------------------------------------

async def notice(bot: Bot, event) -> None:
    """A notice about where the account is or whom it knows."""
    svc = _svc()
    self_id = int(bot.self_id)
    accounts = svc.accounts
    kind = getattr(event, "notice_type", "")
    user_id = int(getattr(event, "user_id", 0) or 0)
    group_id = int(getattr(event, "group_id", 0) or 0)
    now = svc.clock.timestamp()
    if kind == "group_ban" and user_id in (0, self_id):
        duration = int(getattr(event, "duration", 0) or 0)
        if getattr(event, "sub_type", "") == "lift_ban" or duration == 0:
            accounts.mute(self_id, group_id, 0)
            logger.info(f"account {self_id}: no longer muted in group {group_id}")
            lifecycle.wake_outbox()
        else:
            # a whole-group mute says -1: wait the mute setting's length, or for the lift
            seconds = duration if duration > 0 else svc.settings.mute_pause_seconds
            accounts.mute(self_id, group_id, now + seconds)
            logger.warning(f"account {self_id}: muted in group {group_id} for {seconds}s")
    elif kind == "group_decrease" and user_id == self_id:
        accounts.left(self_id, group_id)
        logger.warning(f"account {self_id}: left group {group_id} "
                       f"({getattr(event, 'sub_type', '')})")
        lifecycle.wake_outbox()
    elif kind == "group_increase" and user_id == self_id:
        accounts.joined(self_id, group_id)
        lifecycle.wake_outbox()
    elif kind == "friend_add" and user_id:
        # Lagrange sends friend_add with the request, before anyone approved it (README,
        # "QQ sides"): there the approval is what counts
        if accounts.get(self_id).implementation == "lagrange":
            return
        accounts.befriended(self_id, user_id)
        await greet(self_id, user_id)


# friends -----------------------------------------------------------------------------------

async def _in_a_branch_group(bot: Bot, user_id: int) -> bool:
    """Whether the person is in one of the branches' groups, asking the QQ side (at most
    ``friend_check_groups`` groups, those the account is known to be in first)."""
    svc = _svc()
    groups = await svc.branches.branches.all_groups()
    account = svc.accounts.get(int(bot.self_id))
    ordered = sorted(groups, key=lambda g: account.in_group(g) is not True)
    for group_id in ordered[:svc.settings.friend_check_groups]:
        if account.in_group(group_id) is False:
            continue
        info = await _ask(bot, "get_group_member_info", group_id=group_id, user_id=user_id,
                          no_cache=True)
        if isinstance(info, dict) and str(info.get("user_id", "")) == str(user_id):
            return True
    return False


async def friend_request(bot: Bot, event) -> None:
    """Accept a friend request as ``friend_auto_accept`` says; strangers are left pending."""
    svc = _svc()
    mode = svc.settings.friend_auto_accept
    user_id = int(event.user_id)
    if mode == "off":
        logger.info(f"friend request from {user_id} left to the operator (auto-accept off)")
        return
    accept = mode == "everyone" or await svc.branches.members.active_anywhere(user_id) \
        or await _in_a_branch_group(bot, user_id)
    if not accept:
        logger.info(f"friend request from {user_id} left pending: not a member of any branch")
        return
    try:
        await bot.call_api("set_friend_add_request", flag=event.flag, approve=True)
    except Exception as exc:
        text, _ = error_text(exc)
        logger.warning(f"friend request from {user_id} not accepted ({text[:160]})")
        return
    svc.accounts.befriended(int(bot.self_id), user_id)
    logger.info(f"friend request from {user_id} accepted")
    await greet(int(bot.self_id), user_id)


async def greet(self_id: int, user_id: int) -> None:
    """Tell a new friend what they can do here (once per account)."""
    await _svc().outbox.to_user(user_id, [text_segment(GREETING)], "friend_greeting",
                                dedupe_key=f"greet:{self_id}:{user_id}")


# superusers hear of an account that stays down ------------------------------------------

async def watch() -> None:
    """Every half minute: an account down for ``account_alert_minutes`` is reported, once."""
    told: set[tuple[int, float]] = set()
    while True:
        await asyncio.sleep(WATCH_EVERY_SECONDS)
        try:
            svc = _svc()
            now = svc.clock.timestamp()
            limit = svc.settings.account_alert_minutes * 60
            for account in svc.accounts.all():
                key = (account.self_id, account.changed_at)
                if account.connected or key in told or now - account.changed_at < limit:
                    continue
                told.add(key)
                await alert(f"⚠️ 机器人账号 {account.self_id} 已断开 "
                            f"{int((now - account.changed_at) // 60)} 分钟，它所在群的消息改由其他"
                            "账号发送；都不在时消息会等它重连。请检查 QQ 端是否在线。",
                            f"down:{account.self_id}:{int(account.changed_at)}")
        except Exception:
            logger.exception("account watch failed")


async def alert(text: str, key: str) -> None:
    """A private note to every superuser (through the queue, any account that can)."""
    svc = _svc()
    for user_id in sorted(int(u) for u in get_driver().config.superusers if str(u).isdigit()):
        await svc.outbox.to_user(user_id, [text_segment(text)], "account_alert",
                                 dedupe_key=f"{key}:{user_id}")


def implementation_label(app_name: str, version: str) -> str:
    """How ``/支部 状态`` names a QQ side."""
    name = {"napcat": "NapCat", "llonebot": "LLOneBot",
            "lagrange": "Lagrange.OneBot（v1，已停止维护）"}.get(implementation_of(app_name),
                                                           app_name or "未知实现")
    return f"{name} {version}".strip()
