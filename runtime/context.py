"""Per-command context: who asks, in which branch, with which services; and error replies."""

from __future__ import annotations

import time
from dataclasses import dataclass

from nonebot import get_driver, logger
from nonebot.adapters.onebot.v11 import Bot, GroupMessageEvent, MessageEvent

from domain.branches import Actor
from domain.errors import DomainError
from domain.models import Branch
from domain.services import Services
from runtime import lifecycle

GROUP_ONLY = "请在支部的QQ群里使用这个命令。"
NOT_SET_UP = ("本群还没有设置支部。群主或群管理员发送 /支部 创建 <名称> 建立新支部，"
              "或 /支部 绑定 <支部编号> 并入已有支部；/帮助 可查看功能。")


@dataclass
class Ctx:
    """What a handler needs: services, the asker, and the branch of the group (if any)."""

    svc: Services
    actor: Actor
    group_id: int | None
    branch: Branch | None

    @property
    def user_id(self) -> int:
        return self.actor.user_id

    def in_branch(self) -> Branch:
        if self.branch is None:
            raise DomainError(GROUP_ONLY)
        return self.branch

    async def names(self, user_ids) -> dict[int, str]:
        """Display names in this branch, the QQ number for people without a profile."""
        ids = [u for u in user_ids if u is not None]
        known = await self.svc.branches.names(self.in_branch().id, ids)
        return {u: known.get(u, str(u)) for u in ids}

    async def is_admin(self) -> bool:
        return self.branch is not None and await self.svc.branches.is_admin(
            self.branch.id, self.actor
        )

    async def require_admin(self) -> Branch:
        branch = self.in_branch()
        await self.svc.branches.require_admin(branch.id, self.actor)
        return branch


def is_superuser(user_id: int | str) -> bool:
    return str(user_id) in get_driver().config.superusers


TRUSTED_ROLES = ("owner", "admin", "member")


async def group_role(bot: Bot | None, svc: Services, group_id: int, user_id: int,
                     given: str | None) -> str | None:
    """The sender's QQ group role. Some QQ implementations (Lagrange) send ``unknown`` or
    nothing in the event; then the QQ side is asked and the answer cached briefly."""
    if given in TRUSTED_ROLES or bot is None:
        return given
    now = time.monotonic()
    cached = svc.guard.roles.get(group_id, user_id, now)
    if cached is not None:
        return cached
    try:
        info = await bot.call_api("get_group_member_info", group_id=group_id, user_id=user_id,
                                  no_cache=False)
        role = str(info.get("role", "")) if isinstance(info, dict) else ""
    except Exception as exc:
        logger.info(f"role of {user_id} in group {group_id} unknown: {exc}")
        return None
    role = role if role in TRUSTED_ROLES else "member"
    svc.guard.roles.put(group_id, user_id, role, now)
    return role


async def command_context(event: MessageEvent, bot: Bot | None = None) -> Ctx:
    svc = lifecycle.services()
    group_id = event.group_id if isinstance(event, GroupMessageEvent) else None
    role = getattr(event.sender, "role", None)
    if group_id is not None:
        role = await group_role(bot, svc, group_id, int(event.user_id), role)
    user_id = int(event.user_id)

    async def ask_role(other_group: int) -> str | None:  # the sender's role in another group
        return await group_role(bot, svc, other_group, user_id, None)

    actor = Actor(
        user_id=user_id,
        is_superuser=is_superuser(event.user_id),
        is_group_admin=group_id is not None and role in ("owner", "admin"),
        group_id=group_id,
        ask_role=ask_role if group_id is not None and bot is not None else None,
    )
    branch = (await svc.branches.find_branch_for_group(group_id)
              if group_id is not None else None)
    return Ctx(svc=svc, actor=actor, group_id=group_id, branch=branch)




FAILURE_NOTICE = "抱歉，处理这条命令时出错了，已记录，请稍后再试。"
