"""Branches, groups, terms and members: who is who, and who may administer."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from config import IDENTITIES, BranchConfig
from domain.clock import Clock
from domain.errors import DomainError, Forbidden, NotFound
from domain.floors import floor_key, normalize_dorm, normalize_floor
from domain.models import Branch, Member, Term
from domain.text import fold, optional_text, require_text, term_name_for
from storage.branches import BranchRepository
from storage.database import Database
from storage.floors import FloorRepository
from storage.members import MemberRepository
from storage.merge import MergeConflict, MergeRepository

ROLE_FLAGS = {"支委": ("is_committee", True), "书记": ("is_secretary", True),
              "取消支委": ("is_committee", False), "取消书记": ("is_secretary", False)}
LEADER_WORDS = ("组长", "取消组长")  # the floor's 党小组 leader
ROLE_WORDS = (*IDENTITIES, *ROLE_FLAGS, *LEADER_WORDS)
# the short forms people type for an identity
IDENTITY_SHORT = {"积极分子": "入党积极分子", "发展": "发展对象", "预备": "预备党员",
                  "正式": "正式党员"}
ADMIN_ROLES = ("owner", "admin")
# what the bind reply calls the rows moved from each table ("3 名成员")
MOVED_LABELS = {"members": "名成员", "wishes": "个心愿", "ledger": "条积分流水",
                "sessions": "场导学和活动", "notes": "篇读书笔记", "reminders": "条提醒",
                "problems": "个民情", "polls": "个投票", "surveys": "个问卷",
                "posts": "个岗位", "tasks": "个任务",
                "exemplar_nominations": "个微典型推荐", "exemplar_cases": "个典型案例",
                "outbox": "条待发消息"}
# /成员 特长 words that are not tags
SKILLS_OFF, SKILLS_ON, SKILLS_CLEAR = "关闭", "开启", "清空"
_TAG_SEPARATORS = re.compile(r"[\s,，、;；/|｜]+")


def parse_tags(text: str, max_tags: int, max_length: int) -> list[str]:
    """Skill tags from ``高数 英语、电脑维修``: split on spaces and 、，;/|, a leading # dropped,
    the same tag (case and width folded) kept once. Refused: none, too many, one too long."""
    tags: list[str] = []
    seen: set[str] = set()
    for raw in _TAG_SEPARATORS.split(unicodedata.normalize("NFKC", text or "")):
        tag = raw.strip().lstrip("#")
        if not tag:
            continue
        if len(tag) > max_length:
            raise DomainError(f"特长「{tag[:max_length]}…」太长了：每个最多 {max_length} 字。")
        if tag in (SKILLS_OFF, SKILLS_ON, SKILLS_CLEAR):
            raise DomainError(f"「{tag}」不能作为特长。")
        if fold(tag) not in seen:
            seen.add(fold(tag))
            tags.append(tag)
    if not tags:
        raise DomainError("请写至少一个特长，例如：/成员 特长 高数 英语 电脑维修")
    if len(tags) > max_tags:
        raise DomainError(f"特长最多 {max_tags} 个，你写了 {len(tags)} 个。")
    return tags


NOT_REGISTERED = ("你还没有在任何支部登记。请先在支部的QQ群里发送 /登记 <姓名> [楼层] [宿舍]，"
                  "再私聊我使用这个命令。")


@dataclass(frozen=True)
class Actor:
    """Who is asking, with what the chat platform says about them."""

    user_id: int
    is_superuser: bool = False
    is_group_admin: bool = False  # owner/admin of the QQ group the request came from
    group_id: int | None = None  # the group the request came from (None: a private chat)
    # asks the QQ side for this person's role in another group (set in group chats)
    ask_role: Callable[[int], Awaitable[str | None]] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class BindResult:
    """A bind: the branch the group is in now, and what came along from its old branch."""

    branch: Branch
    source: Branch | None = None  # the group's branch before (its records moved)
    moved: dict[str, int] = field(default_factory=dict)  # rows moved per table
    shared: int = 0  # people who had a profile in both branches (merged)
    other_groups: tuple[int, ...] = ()  # the old branch's other groups, moved too

    @property
    def id(self) -> int:
        return self.branch.id

    @property
    def name(self) -> str:
        return self.branch.name

    def summary(self) -> str:
        """``并入 3 名成员、2 个心愿、12 条积分流水`` ('' when nothing moved)."""
        order = list(MOVED_LABELS) + sorted(set(self.moved) - set(MOVED_LABELS))
        parts = []
        other = 0
        for table in order:
            rows = self.moved.get(table, 0)
            if not rows:
                continue
            if table in MOVED_LABELS:
                parts.append(f"{rows} {MOVED_LABELS[table]}")
            else:
                other += rows
        if other:
            parts.append(f"{other} 条其他记录")
        return ("并入 " + "、".join(parts)) if parts else ""


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
        self.floors = FloorRepository(db)
        # told (old branch, new branch) after a bind moved one branch into another, to drop
        # what other services cache per branch
        self.after_merge: list[Callable[[int, int], None]] = []
        # run (branch, ending term) inside the transaction that starts a new term, after the
        # membership is frozen: other features freeze what the term's report reads (posts)
        self.term_ending: list[Callable[[int, int], Awaitable[None]]] = []

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

    async def own_branch(self, user_id: int, number: int | None = None, *,
                         example: str = "<命令> 支部#{n}",
                         unregistered: str = NOT_REGISTERED) -> Branch:
        """The branch of a command sent in a private chat: the one the person has an active
        profile in, or the one named (``支部#N``) when there are several; the answer when
        they have none lists nothing, when they have several it lists them and shows
        ``example`` (``{n}`` the first one's number)."""
        mine = await self.branches.branches_of_member(user_id)
        if number is not None:
            for branch in mine:
                if branch.id == number:
                    return branch
            raise NotFound(f"你没有在支部 #{number} 登记。")
        if not mine:
            raise DomainError(unregistered)
        if len(mine) > 1:
            listed = "、".join(f"#{b.id} {b.name}" for b in mine)
            raise DomainError(f"你在多个支部登记了（{listed}），请写明支部，例如："
                              + example.format(n=mine[0].id))
        return mine[0]

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

    async def bind(self, group_id: int, target_id: int, actor: Actor) -> BindResult:
        """Bind ``group_id`` into branch ``target_id``.

        The asker must administer this group (QQ owner/admin or superuser) *and* the target
        branch (支委/书记 there, owner/admin of one of its groups as the QQ side says, or
        superuser), so nobody can attach a group to a branch that is not theirs and read its
        data. A group that was a branch of its own brings that branch's records along, in
        one transaction (``storage.merge``): nothing is left behind, nothing split.
        """
        if not (actor.is_superuser or actor.is_group_admin):
            raise Forbidden("只有本群群主、群管理员或超级管理员可以绑定支部。")
        target = await self.branches.get(target_id)
        if target is None:
            raise NotFound(f"没有找到支部 #{target_id}。")
        current = await self.branches.branch_of_group(group_id)
        if current is not None and current.id == target.id:
            raise DomainError(f"本群已经属于支部 #{target.id}。")
        merge = MergeRepository(self.db)
        if not await self.branches.groups(target.id):
            moved_to = await merge.merged_into(target.id)
            if moved_to is not None:
                raise DomainError(f"支部 #{target.id} 已经并入支部 #{moved_to}，"
                                  f"请发送 /支部 绑定 #{moved_to}。")
        if not await self.is_admin(target.id, replace(actor, is_group_admin=False)):
            raise Forbidden(f"你不是支部 #{target.id} 的支委或书记，也不是它任何一个群的群主或"
                            "管理员，不能绑定到该支部。请该支部的书记在本群发送这条命令，"
                            "或先让书记把你设为支委。")
        await self.current_term(target.id)  # moved entries need a term to land in
        now = self.clock.timestamp()
        result = BindResult(target)
        async with self.db.transaction():
            if current is None:
                await self.branches.bind_group(group_id, target.id, actor.user_id, now)
            else:
                others = tuple(g for g in await self.branches.groups(current.id)
                               if g != group_id)
                shared = await merge.shared_profiles(current.id, target.id)
                try:
                    moved = await merge.move(current.id, target.id, group_id, actor.user_id, now)
                except MergeConflict as exc:
                    raise DomainError(
                        f"本群现属支部 #{current.id}「{current.name}」，它的记录（{exc.table}）与"
                        f"支部 #{target.id} 的记录冲突，无法自动并入，什么都没有改动。请联系"
                        "维护者处理，或继续把本群作为独立支部使用。") from exc
                result = BindResult(target, current, moved, shared, others)
        self._group_branch.clear()
        self._term.pop(target.id, None)
        if current is not None:
            self._term.pop(current.id, None)
            for listener in self.after_merge:
                listener(current.id, target.id)
        return result

    async def records_of(self, branch_id: int) -> dict[str, int]:
        """Rows per table of a branch (what a bind would move)."""
        return await MergeRepository(self.db).counts(branch_id)

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
            ending = await self.branches.current_term(branch_id)
            if ending is not None:  # its reports read this membership from now on
                await self.floors.freeze_term(branch_id, ending.id)
                for freeze in self.term_ending:
                    await freeze(branch_id, ending.id)
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
        if member is not None and member.is_admin:
            return True
        return await self._admin_of_another_group(branch_id, actor)

    async def _admin_of_another_group(self, branch_id: int, actor: Actor) -> bool:
        """Owner or admin of another of the branch's groups, as the QQ side says (asked only
        where the request came with a way to ask: group chats; answers cached briefly)."""
        if actor.ask_role is None:
            return False
        for group_id in await self.branches.groups(branch_id):
            if group_id != actor.group_id and await actor.ask_role(group_id) in ADMIN_ROLES:
                return True
        return False

    async def require_admin(self, branch_id: int, actor: Actor) -> None:
        if not await self.is_admin(branch_id, actor):
            raise Forbidden("这个操作只有支委、书记或群管理员可以执行。")

    async def member(self, branch_id: int, user_id: int) -> Member | None:
        return await self.members.get(branch_id, user_id)

    async def register(self, branch_id: int, user_id: int, name: str, floor: str | None,
                       dorm: str | None) -> Member:
        limit = self.settings.name_max_length
        name = require_text(name, limit, "姓名")
        floor = normalize_floor(optional_text(floor, limit, "楼层"))
        dorm = normalize_dorm(optional_text(dorm, limit, "宿舍"))
        async with self.db.transaction():
            await self.members.upsert_profile(branch_id, user_id, name, floor, dorm,
                                              self.clock.timestamp())
        member = await self.members.get(branch_id, user_id)
        assert member is not None
        return member

    async def set_role(self, branch_id: int, actor: Actor, user_id: int, word: str) -> Member:
        """Set an identity (群众…正式党员, or a short form: 积极分子, 发展, 预备, 正式), the
        支委/书记 flag (取消支委/取消书记 clears it), or make them their floor's 组长."""
        await self.require_admin(branch_id, actor)
        word = IDENTITY_SHORT.get(word, word)
        if word not in ROLE_WORDS:
            raise DomainError("身份只能是：" + "、".join(ROLE_WORDS) + "（也可简写为"
                              + "、".join(IDENTITY_SHORT) + "）。")
        target = await self.members.get(branch_id, user_id)
        if target is None:
            raise NotFound(f"{user_id} 还没有在本支部登记，请 TA 先发送 /登记 <姓名>。")
        if word in LEADER_WORDS:
            await self._set_leader(branch_id, target, word == "组长")
            return target
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
            await self.floors.clear_leader(branch_id, user_id)  # a removed member leads none
        return target

    async def _set_leader(self, branch_id: int, member: Member, on: bool) -> None:
        if on and member.floor is None:
            raise DomainError(f"{member.name} 还没有填楼层，请 TA 先发送 "
                              "/登记 <姓名> <楼层> [宿舍]。")
        async with self.db.transaction():
            if on:
                await self.floors.set_leader(branch_id, member.floor, member.user_id,
                                             self.clock.timestamp())
            elif not await self.floors.clear_leader(branch_id, member.user_id):
                raise DomainError(f"{member.name} 不是党小组组长。")

    # skills (/成员 特长) -------------------------------------------------------------------

    async def skills(self, branch_id: int, user_id: int) -> tuple[list[str], bool]:
        """(tags, whether wish matching is on) of a registered member."""
        found = await self.members.skills(branch_id, user_id)
        if found is None:
            raise NotFound("请先发送 /登记 <姓名> [楼层] [宿舍] 建立档案。")
        return found

    async def set_skills(self, branch_id: int, actor: Actor, user_id: int,
                         text: str | None) -> list[str]:
        """Set a member's skill tags (``text`` None clears them). Anyone their own; admins
        anyone's."""
        await self._skills_target(branch_id, actor, user_id)
        limit = self.settings.name_max_length
        tags = [] if text is None else parse_tags(text, self.settings.skill_max_tags, limit)
        async with self.db.transaction():
            await self.members.set_skills(branch_id, user_id, tags, self.clock.timestamp())
        return tags

    async def set_matching(self, branch_id: int, actor: Actor, user_id: int, on: bool) -> None:
        """Turn wish matching on or off for a member (their own, or by an admin)."""
        await self._skills_target(branch_id, actor, user_id)
        async with self.db.transaction():
            await self.members.set_matching(branch_id, user_id, on, self.clock.timestamp())

    async def _skills_target(self, branch_id: int, actor: Actor, user_id: int) -> None:
        if user_id != actor.user_id:
            await self.require_admin(branch_id, actor)
        if await self.members.get(branch_id, user_id) is None:
            if user_id == actor.user_id:
                raise NotFound("请先发送 /登记 <姓名> [楼层] [宿舍] 建立档案。")
            raise NotFound(f"{user_id} 还没有在本支部登记，请 TA 先发送 /登记 <姓名>。")

    async def floor_leaders(self, branch_id: int) -> dict[str, int]:
        """floor → the user id of its 党小组 leader."""
        return await self.floors.leaders(branch_id)

    async def list_members(self, branch_id: int, actor: Actor,
                           floor: str | None = None) -> list[Member]:
        """Active members in floor order (numbered floors by number), then dorm and name."""
        await self.require_admin(branch_id, actor)
        found = await self.members.list_active(branch_id, normalize_floor(floor))
        return sorted(found, key=lambda m: (floor_key(m.floor), m.dorm is None, m.dorm or "",
                                            m.name, m.user_id))

    async def names(self, branch_id: int, user_ids) -> dict[int, str]:
        return await self.members.names(branch_id, sorted(set(user_ids)))
