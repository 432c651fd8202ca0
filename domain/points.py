"""The 微积分 points ledger: booking (idempotent per source event), boards, admin changes,
pairing (结对帮扶) and the weekly commendation. Totals always come from ledger entries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from config import BranchConfig
from domain.branches import Actor, BranchService
from domain.clock import Clock
from domain.errors import DomainError, NotFound
from domain.models import Category, LedgerEntry, Term
from domain.outbox import OutboxService, image_segment, text_segment
from domain.text import optional_text, require_text
from storage.database import Database
from storage.ledger import LedgerRepository, board_sync, points_of_sync

PERIODS = {"周": "本周", "月": "本月", "学期": "本学期", "总": "总"}


@dataclass(frozen=True)
class PointsSummary:
    user_id: int
    term: Term
    total: int
    breakdown: dict[str, int] = field(default_factory=dict)
    rank: int | None = None  # None: no entries this term
    ranked: int = 0  # how many people have entries this term


def summary_of(user_id: int, term: Term, breakdown: dict[str, int],
               standing: tuple[int, int, int] | None) -> PointsSummary:
    """A person's term summary from their per-category sums and (total, rank, ranked)."""
    return PointsSummary(
        user_id=user_id, term=term, total=sum(breakdown.values()), breakdown=breakdown,
        rank=standing[1] if standing else None, ranked=standing[2] if standing else 0,
    )


@dataclass(frozen=True)
class Board:
    label: str
    rows: list[tuple[int, int, int]]  # (rank, user, total)
    mine: tuple[int, int, int] | None  # (rank, total, ranked) of the asker
    ranked: int
    names: dict[int, str] = field(default_factory=dict)  # of those on the board with a profile


@dataclass(frozen=True)
class Commendation:
    """A branch's weekly commendation: the week's top members with their points."""

    branch_id: int
    branch_name: str
    monday: datetime
    rows: list[tuple[int, int, int]]  # (rank, user, points)
    names: dict[int, str] = field(default_factory=dict)

    @property
    def week(self) -> str:
        """``11月23日 – 11月29日``"""
        sunday = self.monday + timedelta(days=6)
        return (f"{self.monday.month}月{self.monday.day}日 – "
                f"{sunday.month}月{sunday.day}日")

    def text(self) -> str:
        lines = [f"🌟 本周积分表彰（{self.monday:%m-%d} 起）："]
        lines += [f"第 {rank} 名 {self.names.get(uid, uid)} {total} 分"
                  for rank, uid, total in self.rows]
        lines.append("感谢大家的服务与参与，继续加油！")
        return "\n".join(lines)


@dataclass(frozen=True)
class Pair:
    helper_id: int
    helper_total: int
    helped_id: int
    helped_total: int


class Pairs(list):
    """The pairs made, with how many eligible members there were and whether the default
    size was more than they allow (then as many pairs as possible were made)."""

    def __init__(self, pairs: list[Pair], eligible: int, default: int | None = None) -> None:
        super().__init__(pairs)
        self.eligible = eligible
        self.default = default  # the default size that was cut down, else None


def competition_rank(totals: dict[int, int], user_id: int) -> int | None:
    """1 + the number of people strictly ahead (ties share a rank)."""
    if user_id not in totals:
        return None
    mine = totals[user_id]
    return 1 + sum(1 for v in totals.values() if v > mine)


def ranked_rows(rows: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(rank, user, total) for rows sorted by total descending; equal totals share a rank."""
    ranked, rank, previous = [], 0, None
    for index, (user_id, total) in enumerate(rows, start=1):
        if total != previous:
            rank, previous = index, total
        ranked.append((rank, user_id, total))
    return ranked


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 of the week holding ``moment`` (in its own timezone)."""
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


class PointsService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService, outbox: OutboxService | None = None) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.outbox = outbox
        self.ledger = LedgerRepository(db)
        # draws a commendation as a picture (PNG), or None; set by the points plugin
        self.poster: Callable[[Commendation], Awaitable[bytes | None]] | None = None

    def local_day(self, ts: int | None = None) -> str:
        moment = self.clock.now() if ts is None else self.clock.from_timestamp(ts)
        return moment.strftime("%Y-%m-%d")

    # booking -----------------------------------------------------------------------------

    async def book(self, branch_id: int, user_id: int, category: Category, delta: int,
                   reason: str, *, ref: str | None, operator_id: int | None = None,
                   term_id: int | None = None, reverses_id: int | None = None) -> int | None:
        """Append an entry (current term unless given); None if ``ref`` was already booked."""
        if term_id is None:
            term_id = (await self.branches.current_term(branch_id)).id
        now = self.clock.timestamp()
        async with self.db.transaction():
            return await self.ledger.append(
                branch_id=branch_id, term_id=term_id, user_id=user_id,
                category=Category(category).value, delta=delta, reason=reason, ref=ref,
                operator_id=operator_id, now=now, local_day=self.local_day(now),
                reverses_id=reverses_id,
            )

    async def book_interaction(self, branch_id: int, user_id: int, delta: int, reason: str, *,
                               ref: str) -> int:
        """Book 互动 points, capped per person per day at ``interaction_daily_cap``.

        Returns the points actually booked (0 when the cap is reached or ``ref`` was booked).
        """
        midnight = self.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
        async with self.db.transaction():
            if await self.ledger.has_ref(branch_id, ref):
                return 0
            today = await self.ledger.sum_since(branch_id, user_id, Category.INTERACTION.value,
                                                int(midnight.timestamp()))
            allowed = min(delta, self.settings.interaction_daily_cap - today)
            if allowed <= 0:
                return 0
            booked = await self.book(branch_id, user_id, Category.INTERACTION, allowed,
                                     reason, ref=ref)
            return allowed if booked else 0

    # admin changes -----------------------------------------------------------------------

    async def adjust(self, branch_id: int, actor: Actor, user_id: int, delta: int,
                     reason: str) -> LedgerEntry:
        """A manual award or deduction (奖惩), bounded by ``points_adjust_max``."""
        await self.branches.require_admin(branch_id, actor)
        bound = self.settings.points_adjust_max
        if delta == 0 or abs(delta) > bound:
            raise DomainError(f"调整分数须在 -{bound} 到 +{bound} 之间，且不为 0。")
        reason = require_text(reason, self.settings.reason_max_length, "调整原因")
        entry_id = await self.book(branch_id, user_id, Category.AWARD, delta, reason, ref=None,
                                   operator_id=actor.user_id)
        assert entry_id is not None
        return await self.entry(branch_id, entry_id)

    async def reverse(self, branch_id: int, actor: Actor, entry_id: int,
                      reason: str | None) -> LedgerEntry:
        """Cancel an entry with a compensating one, in the original entry's term. An entry is
        reversed at most once, and a reversal itself cannot be reversed."""
        await self.branches.require_admin(branch_id, actor)
        original = await self.entry(branch_id, entry_id)
        reason = optional_text(reason, self.settings.reason_max_length, "撤销原因")
        if original.reverses_id is not None:
            raise DomainError(f"#{entry_id} 本身是撤销记录，不能再撤销。")
        if await self.ledger.reversal_of(entry_id) is not None:
            raise DomainError(f"#{entry_id} 已经撤销过了。")
        why = f"撤销 #{entry_id}" + (f"：{reason}" if reason else "")
        reversal_id = await self.book(branch_id, original.user_id, Category(original.category),
                                      -original.delta, why, ref=None,
                                      operator_id=actor.user_id, term_id=original.term_id,
                                      reverses_id=original.id)
        if reversal_id is None:  # a concurrent reversal won the unique index
            raise DomainError(f"#{entry_id} 已经撤销过了。")
        return await self.entry(branch_id, reversal_id)

    async def entry(self, branch_id: int, entry_id: int) -> LedgerEntry:
        entry = await self.ledger.get(branch_id, entry_id)
        if entry is None:
            raise NotFound(f"没有找到流水 #{entry_id}。")
        return entry

    # queries -----------------------------------------------------------------------------

    async def summary(self, branch_id: int, user_id: int) -> PointsSummary:
        term = await self.branches.current_term(branch_id)
        breakdown, standing = await self.db.run_atomic(
            partial(points_of_sync, branch_id=branch_id, term_id=term.id, user_id=user_id))
        return summary_of(user_id, term, breakdown, standing)

    async def statement(self, branch_id: int, user_id: int,
                        page: int) -> tuple[list[LedgerEntry], int, int]:
        """One page of a person's entries, newest first: (entries, page, pages)."""
        size = self.settings.page_size
        entries, total = await self.ledger.entries_of(branch_id, user_id, limit=size,
                                                      offset=(page - 1) * size)
        pages = max(1, -(-total // size))
        if page > pages:
            raise DomainError(f"只有 {pages} 页。")
        return entries, page, pages

    async def period_key(self, branch_id: int, word: str) -> str:
        now = self.clock.now()
        if word == "周":
            return f"week:{week_start(now):%Y-%m-%d}"
        if word == "月":
            return f"month:{now:%Y-%m}"
        if word == "学期":
            return f"term:{(await self.branches.current_term(branch_id)).id}"
        if word == "总":
            return "all"
        raise DomainError("榜单只有：周、月、学期、总。")

    async def board(self, branch_id: int, word: str, user_id: int) -> Board:
        """Top ``rank_size`` of the period (ties share a rank) and the asker's own place."""
        period = await self.period_key(branch_id, word)
        top, standing, ranked, names = await self.db.run_atomic(partial(
            board_sync, branch_id=branch_id, period=period, limit=self.settings.rank_size,
            user_id=user_id))
        mine = None if standing is None else (standing[1], standing[0], standing[2])
        return Board(PERIODS[word], ranked_rows(top), mine, ranked, names)

    # pairing and commendation ------------------------------------------------------------

    async def pair(self, branch_id: int, actor: Actor, size: int | None) -> Pairs:
        """Pair the top ``size`` eligible members of the term with the bottom ``size``; with no
        size, ``pair_default_size`` pairs or as many as the eligible members allow."""
        await self.branches.require_admin(branch_id, actor)
        default = size is None
        size = self.settings.pair_default_size if size is None else size
        if size < 1:
            raise DomainError("结对人数至少为 1。")
        term = await self.branches.current_term(branch_id)
        totals = await self.ledger.period_totals(branch_id, f"term:{term.id}")
        eligible = [m.user_id for m in await self.branches.members.list_active(branch_id)
                    if m.identity in self.settings.wish_claim_identities]
        if len(eligible) < 2:
            raise DomainError("符合条件的成员不足 2 人，无法结对。")
        cut = None
        if 2 * size > len(eligible):
            if not default:
                raise DomainError(f"符合条件的成员只有 {len(eligible)} 人，最多结 "
                                  f"{len(eligible) // 2} 对。")
            cut, size = size, len(eligible) // 2
        ordered = sorted(eligible, key=lambda uid: (-totals.get(uid, 0), uid))
        top, bottom = ordered[:size], ordered[-size:][::-1]
        pairs = [Pair(high, totals.get(high, 0), low, totals.get(low, 0))
                 for high, low in zip(top, bottom, strict=True)]
        async with self.db.transaction():
            await self.ledger.save_pairing(branch_id, term.id, actor.user_id,
                                           self.clock.timestamp(),
                                           [(p.helper_id, p.helped_id) for p in pairs])
        return Pairs(pairs, len(eligible), cut)

    async def partner(self, branch_id: int, user_id: int) -> tuple[int, bool] | None:
        term = await self.branches.current_term(branch_id)
        return await self.ledger.partner(branch_id, term.id, user_id)

    async def commendations(self) -> list[Commendation]:
        """Each branch's top ``commend_size`` members of this week (those with points)."""
        monday = week_start(self.clock.now())
        found = []
        for branch_id in await self.branches.all_branch_ids():
            rows = [r for r in ranked_rows(await self.ledger.board(
                branch_id, f"week:{monday:%Y-%m-%d}", self.settings.commend_size)) if r[2] > 0]
            if not rows:
                continue
            names = await self.branches.names(branch_id, [u for _, u, _ in rows])
            branch = await self.branches.get_branch(branch_id)
            found.append(Commendation(branch_id, branch.name, monday, rows, names))
        return found

    async def queue_commendations(self) -> int:
        """Announce each branch's top members of this week via the queue: as a poster when
        ``poster`` draws one (the text goes instead where the QQ side refuses the image)."""
        if self.outbox is None or not self.settings.commend_enabled:
            return 0
        queued = 0
        for commendation in await self.commendations():
            text = [text_segment(commendation.text())]
            picture = await self.poster(commendation) if self.poster is not None else None
            queued += await self.outbox.to_branch(
                commendation.branch_id, [image_segment(picture)] if picture else text,
                "commendation", fallback=text if picture else None,
                dedupe_key=f"commend:{commendation.branch_id}:{commendation.monday:%Y-%m-%d}",
            )
        return queued
