"""Posts (岗位): 党员先锋岗, 党员责任区 over dorms, 社区服务观察员.

Admins set and end posts; each person holds at most one post of each kind (setting it again
replaces it). A post is given to a registered member whose identity is eligible
(``wish_claim_identities``) and counts while their profile is active. A responsibility area is a
floor, or a range of its dorms (``3楼 301–310``); two people's areas never overlap.

A wish posted by someone living in an area, and a 民情 problem raised there in the group and not
anonymously, are also told privately to the area's member. A problem raised privately or
anonymously is not: its text is secret to admins, its handler and its reporter, and even "it came
from your dorms" would narrow down who raised it. Admins can still make the area's member its
handler (``/民情 受理 #N @…``), who then sees it as handlers do.

Posts are part of a term's frozen membership: when a new term starts, the posts held are kept
with the ending term (``term_posts``), so its report keeps them whatever changes later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from config import BranchConfig
from domain.branches import Actor, BranchService
from domain.clock import Clock
from domain.errors import DomainError, Forbidden, NotFound
from domain.floors import dorm_in_range, dorm_parts, floor_key, normalize_floor, parse_dorm_range
from domain.models import Problem, Term, Wish
from domain.outbox import OutboxService, at_segment, text_segment
from domain.text import require_text, shorten
from storage.database import Database
from storage.posts import PostRepository, PostRow

VANGUARD, AREA, OBSERVER = "vanguard", "area", "observer"
KIND_WORDS = {"先锋岗": VANGUARD, "责任区": AREA, "观察员": OBSERVER}
KIND_LABELS = {VANGUARD: "党员先锋岗", AREA: "党员责任区", OBSERVER: "社区服务观察员"}
KIND_SHORT = {kind: word for word, kind in KIND_WORDS.items()}
KINDS = (VANGUARD, AREA, OBSERVER)  # the order lists and the report use
SNIPPET = 60


def kind_of(word: str | None) -> str | None:
    """``先锋岗``/``责任区``/``观察员`` (or the full names) → the stored kind; None otherwise."""
    if word is None:
        return None
    for kind, label in KIND_LABELS.items():
        if word == label:
            return kind
    return KIND_WORDS.get(word)


def area_text(floor: str | None, first: str | None, last: str | None) -> str:
    """``3楼 301–310``, ``3楼 305`` or ``3楼``."""
    if first is None or last is None:
        return floor or ""
    dorms = first if first == last else f"{first}–{last}"
    return f"{floor} {dorms}"


def describe(post: PostRow) -> str:
    """``先锋岗「学习先锋」``, ``责任区 3楼 301–310``, ``观察员``."""
    if post.kind == VANGUARD:
        return f"先锋岗「{post.title}」"
    if post.kind == AREA:
        return f"责任区 {area_text(post.floor, post.dorm_from, post.dorm_to)}"
    return "观察员"


def covers(post: PostRow, floor: str | None, dorm: str | None) -> bool:
    """Whether a responsibility area covers a dorm of a floor."""
    return (post.kind == AREA and floor is not None and post.floor == floor
            and dorm_in_range(dorm, post.dorm_from, post.dorm_to))


def areas_overlap(a: PostRow, floor: str, first: str | None, last: str | None) -> bool:
    """Whether area ``a`` shares a dorm with ``floor`` ``first``–``last``."""
    if a.floor != floor:
        return False
    if None in (a.dorm_from, a.dorm_to, first, last):
        return True  # a whole floor overlaps every range of it
    lo_a, hi_a, lo_b, hi_b = (dorm_parts(d) for d in (a.dorm_from, a.dorm_to, first, last))
    if None in (lo_a, hi_a, lo_b, hi_b) or lo_a[0] != lo_b[0]:
        return False
    return lo_a[1] <= hi_b[1] and lo_b[1] <= hi_a[1]


def sort_key(post: PostRow) -> tuple:
    return (KINDS.index(post.kind), floor_key(post.floor), post.dorm_from or "", post.user_id,
            post.id)


@dataclass(frozen=True)
class Assigned:
    post: PostRow
    replaced: PostRow | None  # the person's post of that kind before


class PostService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService, outbox: OutboxService) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.outbox = outbox
        self.repo = PostRepository(db)

    async def list(self, branch_id: int) -> list[PostRow]:
        """The posts held now, by kind, then floor and dorm."""
        return sorted(await self.repo.active(branch_id), key=sort_key)

    async def of_member(self, branch_id: int, user_id: int) -> list[PostRow]:
        return sorted(await self.repo.active_of(branch_id, user_id), key=sort_key)

    async def of_term(self, branch_id: int, term: Term) -> list[PostRow]:
        """An ended term's posts as frozen when it ended; the current term's, held now."""
        if term.ended_at is not None:
            return sorted(await self.repo.of_term(branch_id, term.id), key=sort_key)
        return await self.list(branch_id)

    async def holders(self, branch_id: int, kind: str) -> list[int]:
        """Who holds a post of ``kind`` now."""
        return sorted({p.user_id for p in await self.repo.active(branch_id, kind)})

    async def freeze_term(self, branch_id: int, term_id: int) -> None:
        """Keep the posts held now with the ending term (inside ``start_term``'s transaction)."""
        await self.repo.freeze_term(branch_id, term_id)

    # setting and ending --------------------------------------------------------------------

    async def assign(self, branch_id: int, actor: Actor, user_id: int, kind: str,
                     detail: str | None) -> Assigned:
        """Give ``user_id`` a post of ``kind``: a 先锋岗 needs its name, a 责任区 its floor and
        optionally a dorm range (``3楼 301-310``); an 观察员 nothing more."""
        await self.branches.require_admin(branch_id, actor)
        member = await self.branches.member(branch_id, user_id)
        if member is None:
            raise NotFound(f"{user_id} 还没有在本支部登记，请 TA 先发送 /登记 <姓名>。")
        allowed = self.settings.wish_claim_identities
        if member.identity not in allowed:
            raise Forbidden(f"岗位由{'、'.join(allowed)}担任，{member.name} 目前是"
                            f"{member.identity}。")
        title = floor = first = last = None
        detail = (detail or "").strip()
        if kind == VANGUARD:
            title = require_text(detail, self.settings.name_max_length, "先锋岗名称")
        elif kind == AREA:
            floor, first, last = self._parse_area(detail)
        elif detail:
            raise DomainError("观察员不需要写名称或范围：/岗位 设置 @某人 观察员")
        now = self.clock.timestamp()
        async with self.db.transaction():
            replaced = next((p for p in await self.repo.active_of(branch_id, user_id)
                             if p.kind == kind), None)
            if kind == AREA:
                for other in await self.repo.active(branch_id, AREA):
                    if other.user_id != user_id and areas_overlap(other, floor, first, last):
                        names = await self.branches.names(branch_id, [other.user_id])
                        raise DomainError(
                            f"{area_text(floor, first, last)} 与 "
                            f"{names.get(other.user_id, other.user_id)} 的责任区 "
                            f"{area_text(other.floor, other.dorm_from, other.dorm_to)} 重叠，"
                            "请先调整或取消那个责任区。")
            if replaced is not None:
                await self.repo.end(replaced.id, actor.user_id, now)
            post_id = await self.repo.create(branch_id, user_id, kind, title, floor, first,
                                             last, actor.user_id, now)
            post = await self.repo.get(branch_id, post_id)
            assert post is not None
            await self._tell_holder(post, member.name)
        return Assigned(post, replaced)

    def _parse_area(self, detail: str) -> tuple[str, str | None, str | None]:
        parts = detail.split(maxsplit=1)
        if not parts:
            raise DomainError("请写责任区的楼层和宿舍范围，例如："
                              "/岗位 设置 @某人 责任区 3楼 301-310")
        floor = normalize_floor(parts[0])
        if floor is None or len(floor) > self.settings.name_max_length:
            raise DomainError("楼层写得不对，例如 3楼。")
        try:
            dorms = parse_dorm_range(parts[1] if len(parts) > 1 else None)
        except ValueError:
            raise DomainError("宿舍范围写得不对，例如 301-310（同一楼层，从小到大），或一间 "
                              "305；不写则是整层。") from None
        first, last = dorms if dorms else (None, None)
        return floor, first, last

    async def _tell_holder(self, post: PostRow, name: str) -> None:
        what = {VANGUARD: "请带头完成支部的服务任务。",
                AREA: "责任区内同学发布的心愿、在群里反映的民情会私聊告诉你。",
                OBSERVER: "请留意社区服务情况，有问题可 /反映。"}[post.kind]
        via = await self._default_group(post.branch_id)
        await self.outbox.to_user(
            post.user_id, [text_segment(f"{name}，你已担任{KIND_LABELS[post.kind]}"
                                        f"（{describe(post)}）。{what}发送 /岗位 查看全部岗位。")],
            "post_assigned", via_group_id=via, branch_id=post.branch_id,
            fallback=[at_segment(post.user_id),
                      text_segment(" 你有新的岗位，发送 /岗位 查看。")])

    async def cancel(self, branch_id: int, actor: Actor, user_id: int,
                     kind: str | None) -> list[PostRow]:
        """End ``user_id``'s post of ``kind`` (every post when None); returns those ended."""
        await self.branches.require_admin(branch_id, actor)
        now = self.clock.timestamp()
        async with self.db.transaction():
            held = [p for p in await self.repo.active_of(branch_id, user_id)
                    if kind is None or p.kind == kind]
            if not held:
                what = KIND_SHORT[kind] if kind else "岗位"
                raise NotFound(f"{user_id} 现在没有{what}。")
            for post in held:
                await self.repo.end(post.id, actor.user_id, now)
        return sorted(held, key=sort_key)

    # responsibility areas ----------------------------------------------------------------

    async def areas_covering(self, branch_id: int, floor: str | None,
                             dorm: str | None) -> list[PostRow]:
        if floor is None:
            return []
        return [p for p in await self.repo.active(branch_id, AREA) if covers(p, floor, dorm)]

    async def tell_area_of_wish(self, wish: Wish) -> int:
        """A wish from a dorm in an area: its member is told privately (inside the posting
        transaction). Returns how many were told."""
        return await self._tell_area(
            wish.branch_id, wish.group_id, wish.wisher_id, "area_wish", f"area-wish:{wish.id}",
            lambda area, who: (f"🏠 你的责任区（{area}）有新心愿：#{wish.id} "
                               f"{shorten(wish.content, SNIPPET)}\n许愿人：{who}。"
                               f"可发送 /心愿 认领 #{wish.id} 认领，或帮忙找合适的同学。"),
            f" 你的责任区有新心愿，发送 /心愿 详情 #{wish.id} 查看。")

    async def tell_area_of_problem(self, problem: Problem) -> int:
        """A problem raised in the group, not anonymously, from a dorm in an area: its member
        is told privately, with what the group sees (inside the raising transaction). Private
        and anonymous problems are not told (see the module docstring)."""
        if problem.private or problem.anonymous:
            return 0
        return await self._tell_area(
            problem.branch_id, problem.group_id, problem.reporter_id, "area_problem",
            f"area-problem:{problem.id}",
            lambda area, who: (f"🏠 你的责任区（{area}）有同学反映了民情 #{problem.id} "
                               f"[{problem.category}]：{shorten(problem.content, SNIPPET)}\n"
                               f"反映人：{who}。可发送 /民情 受理 #{problem.id} 接手处理，"
                               "或联系支委。"),
            f" 你的责任区有同学反映了问题，发送 /民情 详情 #{problem.id} 查看。")

    async def _tell_area(self, branch_id: int, group_id: int | None, person_id: int, kind: str,
                         key: str, message: Callable[[str, str], str], fallback: str) -> int:
        """Tell the member of each area holding ``person_id``'s dorm (not ``person_id``):
        ``message(area, "name（floor dorm）")``; returns how many were told."""
        person = await self.branches.member(branch_id, person_id)
        if person is None:
            return 0
        who = f"{person.name}（{area_text(person.floor, person.dorm, person.dorm)}）"
        told = 0
        for post in await self.areas_covering(branch_id, person.floor, person.dorm):
            if post.user_id == person_id:
                continue
            area = area_text(post.floor, post.dorm_from, post.dorm_to)
            await self.outbox.to_user(
                post.user_id, [text_segment(message(area, who))], kind,
                via_group_id=await self._group_for(branch_id, group_id), branch_id=branch_id,
                dedupe_key=f"{key}:{post.user_id}",
                fallback=[at_segment(post.user_id), text_segment(fallback)])
            told += 1
        return told

    async def _group_for(self, branch_id: int, group_id: int | None) -> int | None:
        groups = await self.branches.groups(branch_id)
        if group_id in groups:
            return group_id
        return groups[0] if groups else None

    async def _default_group(self, branch_id: int) -> int | None:
        return await self._group_for(branch_id, None)
