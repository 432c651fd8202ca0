"""What one person sees of themself (``/我的``), read in one database trip."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from config import BranchConfig
from domain.branches import BranchService
from domain.models import Member, Wish
from domain.points import PointsSummary, summary_of
from storage.database import Database
from storage.overview import member_overview_sync
from storage.posts import PostRow


@dataclass(frozen=True)
class Overview:
    member: Member | None  # None: no profile, or a removed one (``removed``)
    summary: PointsSummary
    partner: tuple[int, bool] | None  # (partner, whether this person is the helper)
    wishes: list[Wish]
    claims: list[Wish]
    removed: Member | None = None  # the profile an admin removed (/成员 移除)
    skills: list[str] = field(default_factory=list)
    matching: bool = True  # told of wishes that suit the skills
    posts: list[PostRow] = field(default_factory=list)
    honours: list[tuple[str, str]] = field(default_factory=list)  # (term, field) 微典型


class OverviewService:
    def __init__(self, db: Database, settings: BranchConfig, branches: BranchService) -> None:
        self.db = db
        self.settings = settings
        self.branches = branches

    async def of_member(self, branch_id: int, user_id: int) -> Overview:
        term = await self.branches.current_term(branch_id)
        data = await self.db.run_atomic(partial(
            member_overview_sync, branch_id=branch_id, term_id=term.id, user_id=user_id,
            wish_limit=self.settings.page_size,
        ))
        found: Member | None = data["member"]
        active = found is not None and found.active
        return Overview(
            member=found if active else None,
            removed=None if active else found,
            summary=summary_of(user_id, term, data["breakdown"], data["standing"]),
            partner=data["partner"], wishes=data["wishes"], claims=data["claims"],
            skills=data["skills"], matching=data["matching"],
            posts=data["posts"] if active else [],
            honours=data["honours"],
        )
