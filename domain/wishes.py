"""The 微心愿 closed loop: post → claim → serve → rate, with its refusals and points; a new
wish is told privately to the members whose declared skills it matches best (``matches``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from config import BranchConfig
from domain.branches import Actor, BranchService
from domain.clock import Clock
from domain.errors import DomainError, Forbidden, NotFound
from domain.models import Category, Wish, WishEvent, WishState
from domain.outbox import OutboxService, at_segment, text_segment
from domain.points import PointsService
from domain.text import fold, optional_text, require_text, shorten
from storage.database import Database
from storage.wishes import WishRepository

S = WishState
LISTED_STATES = (S.OPEN, S.CLAIMED)
MATCH_SNIPPET = 40  # characters of the wish in a match notice


def skill_overlap(tags: Iterable[str], text: str) -> list[str]:
    """The tags found in ``text`` (``高数`` in ``求高数辅导``), in the member's order."""
    folded = fold(text)
    return [tag for tag in tags if fold(tag) and fold(tag) in folded]


@dataclass(frozen=True)
class Candidate:
    """A member who could be told about a wish: eligible, matching on, under the claim limit."""

    user_id: int
    floor: str | None
    tags: tuple[str, ...]
    open_claims: int


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    tags: tuple[str, ...]  # theirs, found in the wish

    @property
    def score(self) -> int:
        return len(self.tags)


def rank_matches(text: str, wisher_floor: str | None,
                 candidates: Iterable[Candidate]) -> list[Match]:
    """Candidates with at least one tag in ``text``, best first: more tags found, then the
    wisher's floor, then fewer open claims (then the QQ number, so the order is stable)."""
    found = [Match(c, tuple(skill_overlap(c.tags, text))) for c in candidates]
    found = [m for m in found if m.score]
    found.sort(key=lambda m: (-m.score,
                              not (wisher_floor is not None and m.candidate.floor == wisher_floor),
                              m.candidate.open_claims, m.candidate.user_id))
    return found


@dataclass(frozen=True)
class WishPage:
    wishes: list[Wish]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class CompletedWish:
    wish: Wish
    points: int  # points booked to the helper by this completion


class WishService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService, points: PointsService,
                 outbox: OutboxService) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.points = points
        self.outbox = outbox
        self.repo = WishRepository(db)
        # run inside the transaction that posts a wish (the responsibility area's notice)
        self.on_posted: list[Callable[[Wish], Awaitable[None]]] = []

    async def get(self, branch_id: int, wish_id: int) -> Wish:
        wish = await self.repo.get(branch_id, wish_id)
        if wish is None:
            raise NotFound(f"没有找到心愿 #{wish_id}。")
        return wish

    async def post(self, branch_id: int, group_id: int | None, wisher_id: int,
                   content: str) -> Wish:
        content = require_text(content, self.settings.wish_max_length, "心愿内容")
        now = self.clock.timestamp()
        async with self.db.transaction():  # the wish and every notice it causes, or none
            wish_id = await self.repo.create(branch_id, group_id, wisher_id, content, now)
            await self.repo.add_event(wish_id, wisher_id, "发布", None, now)
            wish = await self.get(branch_id, wish_id)
            await self.notify_matches(wish)
            for hook in self.on_posted:
                await hook(wish)
        return wish

    async def matches(self, wish: Wish) -> list[Match]:
        """The members a new wish may suit, best first (``rank_matches``), at most
        ``match_notify``: eligible, with matching on, under the claim limit, never the wisher."""
        if not self.settings.match_notify:
            return []
        rows = await self.repo.match_candidates(
            wish.branch_id, self.settings.wish_claim_identities, wish.wisher_id,
            self.settings.wish_max_claims)
        wisher = await self.branches.member(wish.branch_id, wish.wisher_id)
        candidates = [Candidate(r["user_id"], r["floor"], tuple(r["skills"].split()),
                                r["open_claims"]) for r in rows]
        ranked = rank_matches(wish.content, wisher.floor if wisher else None, candidates)
        return ranked[: self.settings.match_notify]

    async def notify_matches(self, wish: Wish) -> list[int]:
        """Tell the best matches privately, once per wish and person (call inside the
        posting transaction). Returns who was told."""
        told = []
        via = await self._group_of(wish)
        snippet = shorten(wish.content, MATCH_SNIPPET)
        for match in await self.matches(wish):
            uid = match.candidate.user_id
            if not await self.repo.add_match(wish.id, uid, match.score, self.clock.timestamp()):
                continue
            text = (f"有一个心愿可能适合你：#{wish.id} {snippet}"
                    f"（你的特长：{'、'.join(match.tags)}），发送 /心愿 认领 #{wish.id}\n"
                    "不想再收到这类消息可发送 /成员 特长 关闭")
            await self.outbox.to_user(
                uid, [text_segment(text)], "wish_match", via_group_id=via,
                branch_id=wish.branch_id, dedupe_key=f"wish-match:{wish.id}:{uid}",
                fallback=[at_segment(uid), text_segment(
                    f" 有一个心愿可能适合你，请加我为好友；发送 /心愿 详情 #{wish.id} 查看")])
            told.append(uid)
        return told

    async def claim(self, branch_id: int, wish_id: int, user_id: int) -> Wish:
        """Claim an open wish. Exactly one of several racing claims wins (a conditional UPDATE)."""
        wish = await self.get(branch_id, wish_id)
        member = await self.branches.member(branch_id, user_id)
        allowed = self.settings.wish_claim_identities
        if member is None:
            raise Forbidden("请先发送 /登记 <姓名> 建立档案，再由支委设置身份后认领。")
        if member.identity not in allowed:
            raise Forbidden(f"认领心愿需要身份为{'、'.join(allowed)}，你目前是{member.identity}。")
        if wish.wisher_id == user_id:
            raise DomainError("不能认领自己的心愿。")
        if wish.state is not S.OPEN:
            raise DomainError(await self._not_open(wish))
        limit = self.settings.wish_max_claims
        now = self.clock.timestamp()
        async with self.db.transaction():
            won = await self.repo.claim(branch_id, wish_id, user_id, limit, now)
            if won:
                await self.repo.add_event(wish_id, user_id, "认领", None, now)
        if not won:
            if await self.repo.count_claims(branch_id, user_id) >= limit:
                raise DomainError(f"你已有 {limit} 个进行中的认领，先完成或放弃一个再来。")
            taken = await self.get(branch_id, wish_id)
            if taken.state is not S.OPEN:
                raise DomainError("来晚了一步：" + await self._not_open(taken))
            raise DomainError(f"心愿 #{wish_id} 刚刚被别人认领了。")
        return await self.get(branch_id, wish_id)

    async def _not_open(self, wish: Wish) -> str:
        """Why a wish cannot be claimed: by whom it is taken, or its state."""
        if wish.claimer_id is not None and wish.state in (S.CLAIMED, S.AWAITING_RATING):
            names = await self.branches.names(wish.branch_id, [wish.claimer_id])
            who = names.get(wish.claimer_id, str(wish.claimer_id))
            doing = "认领" if wish.state is S.CLAIMED else "完成服务，正在等待评价"
            return f"心愿 #{wish.id} 已由 {who} {doing}，不能再认领。看看其他心愿：/心愿 列表"
        return f"心愿 #{wish.id} 当前{wish.state.label}，不能认领。"

    async def give_up(self, branch_id: int, wish_id: int, user_id: int) -> Wish:
        wish = await self.get(branch_id, wish_id)
        if wish.claimer_id != user_id or wish.state is not S.CLAIMED:
            raise Forbidden(f"只有认领人可以放弃进行中的心愿 #{wish_id}。")
        await self._move(wish, (S.CLAIMED,), S.OPEN, user_id, "放弃", None,
                         claimer_id=None, claimed_at=None)
        return await self.get(branch_id, wish_id)

    async def mark_done(self, branch_id: int, wish_id: int, user_id: int,
                        note: str | None, group_id: int | None = None) -> Wish:
        """Served: the wisher is @-mentioned (in ``group_id``, else the wish's group) to rate
        it, through the queue, in the same transaction as the change."""
        wish = await self.get(branch_id, wish_id)
        if wish.claimer_id != user_id or wish.state not in (S.CLAIMED, S.AWAITING_RATING):
            raise Forbidden(f"只有认领人可以把心愿 #{wish_id} 标记为完成。")
        if wish.state is S.AWAITING_RATING:
            raise DomainError(f"心愿 #{wish_id} 已标记完成，正在等待评价。")
        note = optional_text(note, self.settings.reason_max_length, "完成说明")
        async with self.db.transaction():
            await self._move(wish, (S.CLAIMED,), S.AWAITING_RATING, user_id, "完成", note,
                             done_at=self.clock.timestamp(), done_note=note)
            target = group_id if group_id is not None else await self._group_of(wish)
            if target is not None:
                names = await self.branches.names(branch_id, [user_id])
                text = (f" 你的心愿 #{wish.id} 已由 {names.get(user_id, str(user_id))} 完成服务，"
                        f"请发送 /心愿 评价 #{wish.id} <1-5> [评语] 确认并评分。")
                await self.outbox.to_group(target, [at_segment(wish.wisher_id),
                                                    text_segment(text)],
                                           "wish_done", branch_id=branch_id,
                                           dedupe_key=f"wish:{wish.id}:done")
        return await self.get(branch_id, wish_id)

    async def rate(self, branch_id: int, wish_id: int, user_id: int, score: int,
                   comment: str | None) -> CompletedWish:
        wish = await self.get(branch_id, wish_id)
        if wish.wisher_id != user_id:
            raise Forbidden(f"只有许愿人可以评价心愿 #{wish_id}。")
        if wish.state is not S.AWAITING_RATING:
            raise DomainError(f"心愿 #{wish_id} 当前{wish.state.label}，不能评价。")
        if not 1 <= score <= 5:
            raise DomainError("评分是 1 到 5 的整数。")
        comment = optional_text(comment, self.settings.reason_max_length, "评语")
        now = self.clock.timestamp()
        async with self.db.transaction():
            await self._move(wish, (S.AWAITING_RATING,), S.COMPLETED, user_id, "评价",
                             f"{score} 分" + (f"：{comment}" if comment else ""),
                             rating=score, rating_comment=comment, completed_at=now)
            points = await self._book_completion(wish, rated=score)
        return CompletedWish(await self.get(branch_id, wish_id), points)

    async def withdraw(self, branch_id: int, wish_id: int, user_id: int) -> Wish:
        wish = await self.get(branch_id, wish_id)
        if wish.wisher_id != user_id:
            raise Forbidden(f"只有许愿人可以撤回心愿 #{wish_id}。")
        if wish.state not in (S.OPEN, S.CLAIMED):
            raise DomainError(f"心愿 #{wish_id} 当前{wish.state.label}，不能撤回。")
        await self._move(wish, (S.OPEN, S.CLAIMED), S.WITHDRAWN, user_id, "撤回", None,
                         ended_at=self.clock.timestamp())
        return await self.get(branch_id, wish_id)

    async def close(self, branch_id: int, wish_id: int, actor: Actor,
                    reason: str | None) -> Wish:
        await self.branches.require_admin(branch_id, actor)
        wish = await self.get(branch_id, wish_id)
        if not wish.state.is_active:
            raise DomainError(f"心愿 #{wish_id} 已经{wish.state.label}。")
        reason = optional_text(reason, self.settings.reason_max_length, "关闭原因")
        await self._move(wish, (S.OPEN, S.CLAIMED, S.AWAITING_RATING), S.CLOSED,
                         actor.user_id, "关闭", reason, ended_at=self.clock.timestamp(),
                         end_reason=reason)
        return await self.get(branch_id, wish_id)

    async def auto_complete_overdue(self) -> list[CompletedWish]:
        """Complete, unrated, every wish waiting longer than ``wish_rating_days`` for a rating."""
        deadline = self.clock.timestamp() - self.settings.wish_rating_days * 86400
        done = []
        for wish in await self.repo.awaiting_rating_since(deadline):
            try:
                async with self.db.transaction():  # completed, booked and announced, or not
                    await self._move(wish, (S.AWAITING_RATING,), S.COMPLETED, None, "自动完成",
                                     f"{self.settings.wish_rating_days} 天未评价",
                                     completed_at=self.clock.timestamp(), auto_completed=1)
                    points = await self._book_completion(wish, rated=None)
                    completed = CompletedWish(await self.get(wish.branch_id, wish.id), points)
                    await self._announce_auto_completion(completed)
            except DomainError:
                continue  # rated or closed meanwhile
            done.append(completed)
        return done

    async def _announce_auto_completion(self, done: CompletedWish) -> None:
        wish = done.wish
        group_id = await self._group_of(wish)
        if group_id is None or wish.claimer_id is None:
            return
        names = await self.branches.names(wish.branch_id, [wish.claimer_id])
        helper = names.get(wish.claimer_id, str(wish.claimer_id))
        text = (f"心愿 #{wish.id} 超过 {self.settings.wish_rating_days} 天未评价，已自动完成"
                f"（不计入满意度）；{helper} 获得 {done.points} 积分。")
        await self.outbox.to_group(group_id, [text_segment(text)], "wish_auto_complete",
                                   branch_id=wish.branch_id, dedupe_key=f"wish:{wish.id}:auto")

    async def queue_digests(self) -> int:
        """Queue, per branch, the list of wishes unclaimed for ``wish_digest_hours``; if any."""
        hours = self.settings.wish_digest_hours
        day = self.clock.now().strftime("%Y-%m-%d")
        queued = 0
        for branch_id in await self.branches.all_branch_ids():
            waiting = await self.open_since(branch_id, hours)
            if not waiting:
                continue
            lines = [f"📮 有 {len(waiting)} 个心愿超过 {hours} 小时无人认领："]
            lines += [f"#{w.id} {w.content[:30]}" for w in waiting[: self.settings.page_size]]
            if len(waiting) > self.settings.page_size:
                lines.append(f"……共 {len(waiting)} 个，发送 /心愿 查看全部")
            lines.append("入党积极分子及以上的同学可发送 /心愿 认领 <编号> 认领。")
            queued += await self.outbox.to_branch(branch_id, [text_segment("\n".join(lines))],
                                                  "wish_digest",
                                                  dedupe_key=f"digest:{branch_id}:{day}")
        return queued

    async def queue_rating_nudges(self) -> int:
        """Remind, once a day, each wisher whose served wish has waited a day for a rating."""
        day = self.clock.now().strftime("%Y-%m-%d")
        waiting = await self.repo.awaiting_rating_since(self.clock.timestamp() - 86400)
        queued = 0
        for wish in waiting:
            group_id = await self._group_of(wish)
            if group_id is None:
                continue
            left = self.settings.wish_rating_days - (self.clock.timestamp() - wish.done_at) // 86400
            text = (f" 你的心愿 #{wish.id} 已完成服务，请发送 /心愿 评价 #{wish.id} <1-5> 评分；"
                    f"{max(left, 0)} 天后将自动完成。")
            if await self.outbox.to_group(group_id, [at_segment(wish.wisher_id),
                                                     text_segment(text)],
                                          "wish_rating_nudge", branch_id=wish.branch_id,
                                          dedupe_key=f"nudge:{wish.id}:{day}"):
                queued += 1
        return queued

    async def _group_of(self, wish: Wish) -> int | None:
        """The group the wish was posted in, if still in its branch; else the branch's first."""
        groups = await self.branches.groups(wish.branch_id)
        if wish.group_id in groups:
            return wish.group_id
        return groups[0] if groups else None

    # queries -----------------------------------------------------------------------------

    async def list_page(self, branch_id: int, page: int) -> WishPage:
        size = self.settings.page_size
        page = max(page, 1)
        wishes, total = await self.repo.list_in_states(
            branch_id, LISTED_STATES, limit=size, offset=(page - 1) * size
        )
        pages = max(1, -(-total // size))
        if page > pages and total:
            raise DomainError(f"只有 {pages} 页。")
        return WishPage(wishes, page, pages, total)

    async def history(self, wish: Wish) -> list[WishEvent]:
        return await self.repo.events(wish.id)

    async def mine(self, branch_id: int, user_id: int) -> tuple[list[Wish], list[Wish]]:
        size = self.settings.page_size
        return (await self.repo.of_wisher(branch_id, user_id, size),
                await self.repo.of_claimer(branch_id, user_id, size))

    async def open_since(self, branch_id: int, hours: int) -> list[Wish]:
        return await self.repo.open_since(branch_id, self.clock.timestamp() - hours * 3600)

    # internals ---------------------------------------------------------------------------

    async def _move(self, wish: Wish, expected: tuple[WishState, ...], new: WishState,
                    actor_id: int | None, action: str, note: str | None, **fields) -> None:
        async with self.db.transaction():
            moved = await self.repo.transition(wish.id, expected, new, **fields)
            if not moved:
                current = await self.repo.get(wish.branch_id, wish.id)
                label = current.state.label if current else "不存在"
                raise DomainError(f"心愿 #{wish.id} 当前{label}，操作没有生效。")
            await self.repo.add_event(wish.id, actor_id, action, note, self.clock.timestamp())

    async def _book_completion(self, wish: Wish, rated: int | None) -> int:
        """Book the helper's points for a completed wish; each source event books once."""
        assert wish.claimer_id is not None
        booked = 0
        plan = [(f"wish:{wish.id}:done", self.settings.points_wish_done,
                 f"完成心愿 #{wish.id}")]
        if rated == 5:
            plan.append((f"wish:{wish.id}:rating5", self.settings.points_rating5_bonus,
                         f"心愿 #{wish.id} 获五星评价"))
        for ref, delta, reason in plan:
            if delta and await self.points.book(wish.branch_id, wish.claimer_id,
                                                Category.SERVICE, delta, reason, ref=ref):
                booked += delta
        return booked
