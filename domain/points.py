"""The 微积分 points ledger: booking (idempotent per source event) and per-person summaries."""

from __future__ import annotations

from dataclasses import dataclass, field

from config import BranchConfig
from domain.branches import BranchService
from domain.clock import Clock
from domain.models import Category, Term
from storage.database import Database
from storage.ledger import LedgerRepository


@dataclass(frozen=True)
class PointsSummary:
    user_id: int
    term: Term
    total: int
    breakdown: dict[str, int] = field(default_factory=dict)
    rank: int | None = None  # None: no entries this term
    ranked: int = 0  # how many people have entries this term


def competition_rank(totals: dict[int, int], user_id: int) -> int | None:
    """1 + the number of people strictly ahead (ties share a rank)."""
    if user_id not in totals:
        return None
    mine = totals[user_id]
    return 1 + sum(1 for v in totals.values() if v > mine)


class PointsService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.ledger = LedgerRepository(db)

    async def book(self, branch_id: int, user_id: int, category: Category, delta: int,
                   reason: str, *, ref: str | None, operator_id: int | None = None) -> int | None:
        """Append an entry in the current term; None if ``ref`` was already booked."""
        term = await self.branches.current_term(branch_id)
        async with self.db.transaction():
            return await self.ledger.append(
                branch_id=branch_id, term_id=term.id, user_id=user_id,
                category=Category(category).value, delta=delta, reason=reason, ref=ref,
                operator_id=operator_id, now=self.clock.timestamp(),
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

    async def summary(self, branch_id: int, user_id: int) -> PointsSummary:
        term = await self.branches.current_term(branch_id)
        breakdown = await self.ledger.breakdown(branch_id, term.id, user_id)
        totals = await self.ledger.term_totals(branch_id, term.id)
        return PointsSummary(
            user_id=user_id, term=term, total=sum(breakdown.values()), breakdown=breakdown,
            rank=competition_rank(totals, user_id), ranked=len(totals),
        )
