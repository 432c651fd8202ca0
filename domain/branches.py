"""Branches, groups, terms and members: who is who, and who may administer."""

from __future__ import annotations

from dataclasses import dataclass

from config import IDENTITIES, BranchConfig
from domain.clock import Clock
from domain.errors import DomainError, Forbidden, NotFound
from domain.models import Branch, Member, Term
from domain.text import optional_text, require_text, term_name_for
from storage.branches import BranchRepository
from storage.database import Database
from storage.members import MemberRepository

ROLE_FLAGS = {"支委": ("is_committee", True), "书记": ("is_secretary", True),
              "取消支委": ("is_committee", False), "取消书记": ("is_secretary", False)}
ROLE_WORDS = (*IDENTITIES, *ROLE_FLAGS)


@dataclass(frozen=True)
class Actor:
    """Who is asking, with what the chat platform says about them."""

    user_id: int
    is_superuser: bool = False
    is_group_admin: bool = False  # owner/admin of the QQ group the request came from


class BranchService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = BranchRepository(db)
        self.members = MemberRepository(db)
        # Read on every command; this process is the database's only writer, so the caches are
        # dropped exactly where these records change (bind, rename, new term).
        self._group_branch: dict[int, Branch] = {}
        self._term: dict[int, Term] = {}

    # branches ----------------------------------------------------------------------------

    async def find_branch_for_group(self, group_id: int) -> Branch | None:
        """The group's branch, or None while nobody has set the group up."""
        cached = self._group_branch.get(group_id)
        if cached is not None:
            return cached
        branch = await self.branches.branch_of_group(group_id)
        if branch is not None:
            self._group_branch[group_id] = branch
        return branch

    async def create_branch(self, group_id: int, actor: Actor, name: str) -> Branch:
        """``/支部 创建``: a new branch whose first group is ``group_id`` (group admins only)."""
        if not (actor.is_superuser or actor.is_group_admin):
            raise Forbidden("只有本群群主、群管理员或超级管理员可以创建支部。")
        name = require_text(name, self.settings.name_max_length * 2, "支部名称")
        async with self.db.transaction():
            current = await self.branches.branch_of_group(group_id)
            if current is not None:
                raise DomainError(f"本群已经属于支部 #{current.id}「{current.name}」。")
            branch = await self._create(group_id, name)
        self._group_branch[group_id] = branch
        return branch

    async def _create(self, group_id: int, name: str) -> Branch:
        now = self.clock.now()
        branch = await self.branches.create_for_group(group_id, name, int(now.timestamp()))
        await self.branches.create_term(
            branch.id, term_name_for(now.year, now.month), int(now.timestamp())
        )
        return branch

    async def branch_for_group(self, group_id: int) -> Branch:
        """The group's branch, created (as 未命名支部) if it has none: for set-up code and
        tests; chat commands use ``find_branch_for_group`` and ``create_branch``."""
        cached = self._group_branch.get(group_id)
        if cached is not None:
            return cached
        branch = await self.branches.branch_of_group(group_id)
        if branch is not None:
            self._group_branch[group_id] = branch
            return branch
        async with self.db.transaction():
            branch = await self.branches.branch_of_group(group_id)
            if branch is None:
                branch = await self._create(group_id, "未命名支部")
        self._group_branch[group_id] = branch
        return branch

    async def get_branch(self, branch_id: int) -> Branch:
        branch = await self.branches.get(branch_id)
        if branch is None:
            raise NotFound(f"没有找到支部 #{branch_id}。")
        return branch

    async def info(self, branch: Branch) -> dict:
        groups = await self.branches.groups(branch.id)
        counts = await self.branches.counts(branch.id)
        term = await self.current_term(branch.id)
        return {"branch": branch, "groups": groups, "term": term, **counts}

    async def rename(self, branch: Branch, actor: Actor, name: str) -> Branch:
        await self.require_admin(branch.id, actor)
        name = require_text(name, self.settings.name_max_length * 2, "支部名称")
        async with self.db.transaction():
            await self.branches.rename(branch.id, name)
        self._group_branch.clear()
        return Branch(id=branch.id, name=name, created_at=branch.created_at)

    async def bind(self, group_id: int, target_id: int, actor: Actor) -> Branch:
        """Bind ``group_id`` into branch ``target_id``.

        The asker must administer this group (QQ owner/admin or superuser) *and* the target
        branch (支委/书记 there, or superuser), so nobody can attach a group to a branch that
        is not theirs and read its data.
        """
        if not (actor.is_superuser or actor.is_group_admin):
            raise Forbidden("只有本群群主、群管理员或超级管理员可以绑定支部。")
        target = await self.branches.get(target_id)
        if target is None:
            raise NotFound(f"没有找到支部 #{target_id}。")
        current = await self.branches.branch_of_group(group_id)
        if current is not None and current.id == target.id:
            raise DomainError(f"本群已经属于支部 #{target.id}。")
        if not actor.is_superuser:
            member = await self.members.get(target.id, actor.user_id)
            if member is None or not member.is_admin:
                raise Forbidden(f"你不是支部 #{target.id} 的支委或书记，不能绑定到该支部。")
        async with self.db.transaction():
            await self.branches.bind_group(group_id, target.id, actor.user_id,
                                           self.clock.timestamp())
        self._group_branch.pop(group_id, None)
        return target

    async def groups(self, branch_id: int) -> list[int]:
        return await self.branches.groups(branch_id)

    async def all_branch_ids(self) -> list[int]:
        return await self.branches.all_branch_ids()

    # terms -------------------------------------------------------------------------------

    async def current_term(self, branch_id: int) -> Term:
        cached = self._term.get(branch_id)
        if cached is not None:
            return cached
        term = await self.branches.current_term(branch_id)
        if term is None:
            async with self.db.transaction():
                term = await self.branches.current_term(branch_id)
                if term is None:
                    now = self.clock.now()
                    term = await self.branches.create_term(
                        branch_id, term_name_for(now.year, now.month), int(now.timestamp())
                    )
        self._term[branch_id] = term
        return term

    async def start_term(self, branch_id: int, actor: Actor, name: str) -> Term:
        """End the current term and start ``name``: boards and reports start fresh."""
        await self.require_admin(branch_id, actor)
        name = require_text(name, self.settings.name_max_length * 2, "学期名称")
        async with self.db.transaction():  # checked inside: two racing starts make one term
            if any(t.name == name for t in await self.branches.terms(branch_id)):
                raise DomainError(f"已经有名为「{name}」的学期了。")
            term = await self.branches.create_term(branch_id, name, self.clock.timestamp())
        self._term[branch_id] = term
        return term

    async def terms(self, branch_id: int) -> list[Term]:
        return await self.branches.terms(branch_id)

    async def find_term(self, branch_id: int, word: str | None) -> Term:
        """A term by name or ``#id``; the current one when ``word`` is empty."""
        if not word:
            return await self.current_term(branch_id)
        for term in await self.branches.terms(branch_id):
            if word in (term.name, f"#{term.id}", str(term.id)):
                return term
        raise NotFound(f"没有找到学期「{word[:40]}」。")

    # members and roles -------------------------------------------------------------------

    async def is_admin(self, branch_id: int, actor: Actor) -> bool:
        if actor.is_superuser or actor.is_group_admin:
            return True
        member = await self.members.get(branch_id, actor.user_id)
        return member is not None and member.is_admin

    async def require_admin(self, branch_id: int, actor: Actor) -> None:
        if not await self.is_admin(branch_id, actor):
            raise Forbidden("这个操作只有支委、书记或群管理员可以执行。")

    async def member(self, branch_id: int, user_id: int) -> Member | None:
        return await self.members.get(branch_id, user_id)

    async def register(self, branch_id: int, user_id: int, name: str, floor: str | None,
                       dorm: str | None) -> Member:
        limit = self.settings.name_max_length
        name = require_text(name, limit, "姓名")
        floor = optional_text(floor, limit, "楼层")
        dorm = optional_text(dorm, limit, "宿舍")
        async with self.db.transaction():
            await self.members.upsert_profile(branch_id, user_id, name, floor, dorm,
                                              self.clock.timestamp())
        member = await self.members.get(branch_id, user_id)
        assert member is not None
        return member

    async def set_role(self, branch_id: int, actor: Actor, user_id: int, word: str) -> Member:
        """Set an identity (群众…正式党员) or the 支委/书记 flag (取消支委/取消书记 clears it)."""
        await self.require_admin(branch_id, actor)
        if word not in ROLE_WORDS:
            raise DomainError("身份只能是：" + "、".join(ROLE_WORDS) + "。")
        target = await self.members.get(branch_id, user_id)
        if target is None:
            raise NotFound(f"{user_id} 还没有在本支部登记，请 TA 先发送 /登记 <姓名>。")
        changes: dict = {}
        if word in ROLE_FLAGS:
            column, value = ROLE_FLAGS[word]
            changes[column] = value
        else:
            changes["identity"] = word
        async with self.db.transaction():
            await self.members.update_roles(branch_id, user_id, now=self.clock.timestamp(),
                                            **changes)
        member = await self.members.get(branch_id, user_id)
        assert member is not None
        return member

    async def remove(self, branch_id: int, actor: Actor, user_id: int) -> Member:
        await self.require_admin(branch_id, actor)
        target = await self.members.get(branch_id, user_id)
        if target is None:
            raise NotFound(f"本支部没有 {user_id} 的档案。")
        async with self.db.transaction():
            await self.members.deactivate(branch_id, user_id, self.clock.timestamp())
        return target

    async def list_members(self, branch_id: int, actor: Actor,
                           floor: str | None = None) -> list[Member]:
        await self.require_admin(branch_id, actor)
        return await self.members.list_active(branch_id, floor)

    async def names(self, branch_id: int, user_ids) -> dict[int, str]:
        return await self.members.names(branch_id, sorted(set(user_ids)))
