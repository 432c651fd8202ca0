"""Per-command context: who asks, in which branch, with which services; and error replies."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated

from nonebot import get_driver, logger
from nonebot.adapters.onebot.v11 import GroupMessageEvent, MessageEvent
from nonebot.exception import MatcherException
from nonebot.internal.matcher import current_matcher
from nonebot.params import Depends
from pydantic_core import core_schema

from domain.branches import Actor
from domain.errors import DomainError
from domain.models import Branch
from domain.services import Services
from runtime import lifecycle
from runtime.reply import text

GROUP_ONLY = "请在支部的QQ群里使用这个命令。"


@dataclass
class Ctx:
    """What a handler needs: services, the asker, and the branch of the group (if any)."""

    svc: Services
    actor: Actor
    group_id: int | None
    branch: Branch | None

    @classmethod
    def __get_pydantic_core_schema__(cls, source, handler):
        # NoneBot builds a pydantic field for every handler parameter; this one is ours.
        return core_schema.is_instance_schema(cls)

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


async def _command_context(event: MessageEvent) -> Ctx:
    svc = lifecycle.services()
    group_id = event.group_id if isinstance(event, GroupMessageEvent) else None
    role = getattr(event.sender, "role", None)
    actor = Actor(
        user_id=int(event.user_id),
        is_superuser=is_superuser(event.user_id),
        is_group_admin=group_id is not None and role in ("owner", "admin"),
    )
    branch = await svc.branches.branch_for_group(group_id) if group_id is not None else None
    return Ctx(svc=svc, actor=actor, group_id=group_id, branch=branch)


command_context = _command_context  # a plain call, for handlers on the hot path
CommandContext = Annotated[Ctx, Depends(_command_context)]


FAILURE_NOTICE = "抱歉，处理这条命令时出错了，已记录，请稍后再试。"


def guarded(handler):
    """Answer a ``DomainError`` with its message; any other error is logged with its traceback
    and answered with a polite notice, so no traceback ever reaches a group."""

    @functools.wraps(handler)
    async def wrapper(*args, **kwargs):
        try:
            return await handler(*args, **kwargs)
        except MatcherException:
            raise  # finish()/pause(): NoneBot's own control flow
        except DomainError as exc:
            await current_matcher.get().finish(text(str(exc)))
        except Exception as exc:
            matcher = current_matcher.get()
            logger.opt(exception=exc).error(f"command failed in {matcher.plugin_name}")
            await matcher.finish(text(FAILURE_NOTICE))

    return wrapper
