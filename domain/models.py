"""Plain data records shared by the domain and the repositories."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class WishState(str, Enum):
    OPEN = "open"
    CLAIMED = "claimed"
    AWAITING_RATING = "awaiting_rating"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return WISH_STATE_LABELS[self]

    @property
    def is_active(self) -> bool:
        return self in (WishState.OPEN, WishState.CLAIMED, WishState.AWAITING_RATING)


WISH_STATE_LABELS = {
    WishState.OPEN: "待认领",
    WishState.CLAIMED: "已认领",
    WishState.AWAITING_RATING: "待评价",
    WishState.COMPLETED: "已完成",
    WishState.WITHDRAWN: "已撤回",
    WishState.CLOSED: "已关闭",
}


class Category(str, Enum):
    ATTENDANCE = "出勤"
    INTERACTION = "互动"
    SERVICE = "服务"
    AWARD = "奖惩"
    HONOUR = "荣誉"  # honours such as a term's 微典型 (added with the 微典型 migration)


@dataclass(frozen=True)
class Branch:
    id: int
    name: str
    created_at: int


@dataclass(frozen=True)
class Member:
    branch_id: int
    user_id: int
    name: str
    floor: str | None
    dorm: str | None
    identity: str
    is_committee: bool
    is_secretary: bool
    active: bool

    @property
    def is_admin(self) -> bool:
        return self.active and (self.is_committee or self.is_secretary)

    @property
    def titles(self) -> str:
        flags = [t for t, on in (("书记", self.is_secretary), ("支委", self.is_committee)) if on]
        return "·".join([self.identity, *flags])


@dataclass(frozen=True)
class Term:
    id: int
    branch_id: int
    name: str
    started_at: int
    ended_at: int | None


@dataclass(frozen=True)
class Wish:
    id: int
    branch_id: int
    group_id: int | None
    wisher_id: int
    content: str
    state: WishState
    claimer_id: int | None
    claimed_at: int | None
    done_at: int | None
    done_note: str | None
    rating: int | None
    rating_comment: str | None
    completed_at: int | None
    auto_completed: bool
    ended_at: int | None
    end_reason: str | None
    created_at: int


@dataclass(frozen=True)
class WishEvent:
    wish_id: int
    actor_id: int | None
    action: str
    note: str | None
    at: int


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    branch_id: int
    term_id: int
    user_id: int
    category: str
    delta: int
    reason: str
    ref: str | None
    reverses_id: int | None
    operator_id: int | None
    created_at: int
    local_day: str | None = None


class ProblemState(str, Enum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    ESCALATED = "escalated"
    SOLVED = "solved"
    DONE = "done"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return PROBLEM_STATE_LABELS[self]

    @property
    def is_open(self) -> bool:
        """Not yet 已办结 or 已关闭."""
        return self not in (ProblemState.DONE, ProblemState.CLOSED)

    @property
    def is_unsolved(self) -> bool:
        """Waiting for the branch: 待受理, 处理中 or 已上报."""
        return self in (ProblemState.PENDING, ProblemState.IN_PROGRESS, ProblemState.ESCALATED)


PROBLEM_STATE_LABELS = {
    ProblemState.PENDING: "待受理",
    ProblemState.IN_PROGRESS: "处理中",
    ProblemState.ESCALATED: "已上报",
    ProblemState.SOLVED: "已解决",
    ProblemState.DONE: "已办结",
    ProblemState.CLOSED: "已关闭",
}


@dataclass(frozen=True)
class Problem:
    id: int
    branch_id: int
    group_id: int | None  # None: raised in a private chat
    reporter_id: int
    category: str
    content: str
    anonymous: bool
    private: bool
    state: ProblemState
    handler_id: int | None
    escalated_to: str | None
    solution: str | None
    close_reason: str | None
    rating: int | None
    rating_comment: str | None
    auto_confirmed: bool
    reopen_count: int
    raised_at: int
    taken_at: int | None
    escalated_at: int | None
    solved_at: int | None
    done_at: int | None
    closed_at: int | None


@dataclass(frozen=True)
class ProblemEvent:
    problem_id: int
    actor_id: int | None
    action: str
    target_id: int | None
    note: str | None
    at: int
