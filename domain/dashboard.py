"""The secretary's page (/统计 网页): a link an admin gets privately, valid for
``dashboard_link_hours``, to a page with the report's figures and charts and the tables a
secretary works from. Plain Python, no NoneBot; the page itself is served by the report plugin.

The page's tables are sections, each an async function of the branch giving a ``Table``; a
feature adds its own with ``DashboardService.add_section`` (the task list, once there is one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from config import BranchConfig
from domain.branches import Actor, BranchService
from domain.checkin_code import new_token, token_shape_ok
from domain.clock import Clock
from domain.errors import DomainError, NotFound
from domain.models import Branch, ProblemState
from domain.problems import hours_text
from storage.activities import ActivityRepository
from storage.dashboard import DashboardRepository
from storage.database import Database
from storage.problems import ProblemRepository
from storage.sessions import SessionRepository

DASHBOARD_PATH = "/zhibu/dashboard"  # the page is DASHBOARD_PATH/<token>
OPEN_STATES = (ProblemState.PENDING, ProblemState.IN_PROGRESS, ProblemState.ESCALATED,
               ProblemState.SOLVED)  # not yet 已办结 or 已关闭 (as /民情 列表 lists them)
ROWS_MAX = 50  # rows of one table on the page
UPCOMING_DAYS = 60
SNIPPET = 40


@dataclass(frozen=True)
class Link:
    url_path: str  # DASHBOARD_PATH/<token>
    branch: Branch
    expires_at: int


@dataclass(frozen=True)
class Viewing:
    """A valid link: whose page it is and until when."""

    branch_id: int
    user_id: int
    expires_at: int


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    note: str = ""  # e.g. "共 80 个，显示最早的 50 个"
    empty: str = "暂无"


Section = Callable[[int], Awaitable[Table]]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class DashboardService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.repo = DashboardRepository(db)
        self.sections: dict[str, Section] = {}
        self.add_section("problems", self.open_problems)
        self.add_section("activities", self.upcoming_activities)

    def add_section(self, key: str, section: Section) -> None:
        """A table on every secretary's page, after those added before it."""
        self.sections[key] = section

    # links -------------------------------------------------------------------------------

    async def admin_branches(self, actor: Actor) -> list[Branch]:
        """The branches ``actor`` administers from a private chat (superusers: every one)."""
        if actor.is_superuser:
            found = [await self.branches.get_branch(b)
                     for b in await self.branches.all_branch_ids()]
        else:
            found = await self.branches.branches.branches_of_member(actor.user_id)
        return [b for b in found if await self.branches.is_admin(b.id, actor)]

    async def create_link(self, actor: Actor, branch_no: int | None = None) -> Link:
        """A new link to the page of the branch ``actor`` administers (``支部#N`` when several)."""
        mine = await self.admin_branches(actor)
        if branch_no is not None:
            mine = [b for b in mine if b.id == branch_no]
            if not mine:
                raise NotFound(f"你不是支部 #{branch_no} 的支委或书记。")
        if not mine:
            raise DomainError("只有支委、书记可以获取支部工作网页。请先在支部群里 /登记，"
                              "并由管理员设置为支委或书记。")
        if len(mine) > 1:
            listed = "、".join(f"#{b.id} {b.name}" for b in mine[:10])
            raise DomainError(f"你管理多个支部（{listed}），请写明支部，例如："
                              f"/统计 网页 支部#{mine[0].id}")
        branch = mine[0]
        token = new_token()
        now = self.clock.timestamp()
        expires = now + int(self.settings.dashboard_link_hours * 3600)
        async with self.db.transaction():
            await self.repo.add(token_hash(token), branch.id, actor.user_id, now, expires)
        return Link(f"{DASHBOARD_PATH}/{token}", branch, expires)

    async def open(self, token: str, is_superuser: Callable[[int], bool] = lambda _: False
                   ) -> Viewing | None:
        """The link's branch while it is valid and its holder still administers the branch
        (as a superuser, 支委 or 书记); None for anything else (nothing is told about why)."""
        if not token_shape_ok(token):
            return None
        link = await self.repo.find(token_hash(token))
        if link is None or self.clock.timestamp() >= link.expires_at:
            return None
        actor = Actor(link.user_id, is_superuser=is_superuser(link.user_id))
        if not await self.branches.is_admin(link.branch_id, actor):
            return None
        return Viewing(link.branch_id, link.user_id, link.expires_at)

    # the page's tables -------------------------------------------------------------------

    async def tables(self, branch_id: int) -> list[Table]:
        return [await section(branch_id) for section in self.sections.values()]

    async def open_problems(self, branch_id: int) -> Table:
        """Problems not yet 已办结 or 已关闭, oldest first, with their age (the page is for
        admins: privately raised content is shown, as in the export)."""
        repo = ProblemRepository(self.db)
        found, total = await repo.list_filtered(branch_id, OPEN_STATES, None, limit=ROWS_MAX)
        names = await self.branches.names(
            branch_id, [p.handler_id for p in found if p.handler_id is not None])
        now = self.clock.timestamp()
        rows = [(f"#{p.id}", p.category, p.state.label, hours_text((now - p.raised_at) / 3600),
                 names.get(p.handler_id, str(p.handler_id)) if p.handler_id else "—",
                 p.content if len(p.content) <= SNIPPET else p.content[:SNIPPET] + "…")
                for p in found]
        note = f"共 {total} 个，显示最早的 {len(found)} 个" if total > len(found) else ""
        return Table(f"未办结的民情（{total} 个）",
                     ("编号", "分类", "状态", "已过", "处理人", "内容"), rows, note)

    async def upcoming_activities(self, branch_id: int) -> Table:
        """Activities of every kind that have not started, with their sign-ups."""
        now = self.clock.timestamp()
        found = [a for a in await SessionRepository(self.db).between(
            branch_id, now, now + UPCOMING_DAYS * 86400, ROWS_MAX) if a.state == "scheduled"]
        counts = await ActivityRepository(self.db).counts([a.id for a in found])
        rows = []
        for a in found:
            confirmed, waiting = counts.get(a.id, (0, 0))
            places = f"{confirmed}/{a.capacity}" if a.capacity else f"{confirmed}"
            rows.append((f"#{a.id}", a.kind, a.topic,
                         self.clock.format(a.starts_at, "%m-%d %H:%M"), places,
                         str(waiting) if a.capacity else "—"))
        return Table(f"即将开始的活动（{UPCOMING_DAYS} 天内）",
                     ("编号", "类型", "主题", "时间", "报名/名额", "候补"), rows)
