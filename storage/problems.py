"""民情 problems and their timeline. State changes are conditional updates, so races resolve
in SQL: an update names the branch and the states it expects, and reports whether it moved."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.models import Problem, ProblemEvent, ProblemState
from storage.database import Database

_COLUMNS = (
    "id, branch_id, group_id, reporter_id, category, content, anonymous, private, state, "
    "handler_id, escalated_to, solution, close_reason, rating, rating_comment, auto_confirmed, "
    "reopen_count, raised_at, taken_at, escalated_at, solved_at, done_at, closed_at"
)
_SETTABLE = {
    "handler_id", "escalated_to", "solution", "close_reason", "rating", "rating_comment",
    "auto_confirmed", "taken_at", "escalated_at", "solved_at", "done_at", "closed_at",
}


@dataclass(frozen=True)
class Targets:
    """Target seconds (first response, resolution) by category, with defaults for the rest."""

    first_default: float
    resolution_default: float
    first: dict[str, float] = field(default_factory=dict)
    resolution: dict[str, float] = field(default_factory=dict)


def target_case(by_category: dict[str, float], default: float) -> tuple[str, list]:
    """A SQL expression giving the target of a row's ``category``, and its parameters."""
    if not by_category:
        return "?", [default]
    whens = " ".join("WHEN ? THEN ?" for _ in by_category)
    params: list = [x for pair in by_category.items() for x in pair]
    return f"(CASE category {whens} ELSE ? END)", [*params, default]


def overdue_now_sql(targets: Targets, now: int) -> tuple[str, list]:
    """Condition: an unsolved problem past a target at ``now`` (strictly later than raised +
    target): 待受理 past the first-response target, or unsolved past the resolution target.
    The same rule as ``domain.problems.overdue_now``."""
    first, first_params = target_case(targets.first, targets.first_default)
    res, res_params = target_case(targets.resolution, targets.resolution_default)
    return (f"(state IN ('pending', 'in_progress', 'escalated') AND ("
            f"(state = 'pending' AND ? - raised_at > {first}) OR ? - raised_at > {res}))",
            [now, *first_params, now, *res_params])


def missed_target_sql(targets: Targets, at: int) -> tuple[str, list]:
    """Condition: a problem not closed that missed its first-response or resolution target, a
    response or fix still missing measured up to ``at`` (the report's 超时, defined once)."""
    first, first_params = target_case(targets.first, targets.first_default)
    res, res_params = target_case(targets.resolution, targets.resolution_default)
    return (f"(state != 'closed' AND (COALESCE(taken_at, ?) - raised_at > {first} "
            f"OR COALESCE(solved_at, ?) - raised_at > {res}))",
            [at, *first_params, at, *res_params])


def _problem(row) -> Problem:
    data = dict(row)
    data["state"] = ProblemState(data["state"])
    for flag in ("anonymous", "private", "auto_confirmed"):
        data[flag] = bool(data[flag])
    return Problem(**data)


def _marks(values: Iterable) -> str:
    return ",".join("?" for _ in values)


class ProblemRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, branch_id: int, group_id: int | None, reporter_id: int,
                     category: str, content: str, anonymous: bool, now: int) -> int:
        cur = await self.db.execute(
            "INSERT INTO problems (branch_id, group_id, reporter_id, category, content, "
            "anonymous, private, state, raised_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
            (branch_id, group_id, reporter_id, category, content, int(anonymous),
             int(group_id is None), now),
        )
        return cur.lastrowid

    async def get(self, branch_id: int, problem_id: int) -> Problem | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM problems WHERE id = ? AND branch_id = ?",
            (problem_id, branch_id),
        )
        return _problem(row) if row else None

    async def get_any(self, problem_id: int) -> Problem | None:
        """A problem by number in whatever branch (a private chat names no branch)."""
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM problems WHERE id = ?",
                                     (problem_id,))
        return _problem(row) if row else None

    async def transition(self, branch_id: int, problem_id: int,
                         expected: Iterable[ProblemState], new: ProblemState | None, *,
                         bump_reopen: bool = False, first_taken_at: int | None = None,
                         **fields) -> bool:
        """Set ``fields`` (and the state to ``new`` unless None) if the problem is still in
        one of ``expected``; True if it changed. Two racing updates: exactly one matches.

        ``first_taken_at`` sets ``taken_at`` only if it is unset (the first response);
        ``bump_reopen`` counts a reopen.
        """
        unknown = set(fields) - _SETTABLE
        if unknown:
            raise ValueError(f"cannot set {unknown}")
        states = [s.value for s in expected]
        sets = [f"{col} = ?" for col in fields]
        values = list(fields.values())
        if first_taken_at is not None:
            sets.append("taken_at = COALESCE(taken_at, ?)")
            values.append(first_taken_at)
        if new is not None:
            sets.insert(0, "state = ?")
            values.insert(0, new.value)
        if bump_reopen:
            sets.append("reopen_count = reopen_count + 1")
        if not sets:
            sets.append("state = state")
        cur = await self.db.execute(
            f"UPDATE problems SET {', '.join(sets)} "
            f"WHERE id = ? AND branch_id = ? AND state IN ({_marks(states)})",
            [*values, problem_id, branch_id, *states],
        )
        return cur.rowcount == 1

    async def add_event(self, problem_id: int, actor_id: int | None, action: str,
                        note: str | None, now: int, target_id: int | None = None) -> None:
        await self.db.execute(
            "INSERT INTO problem_events (problem_id, actor_id, action, target_id, note, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (problem_id, actor_id, action, target_id, note, now),
        )

    async def events(self, problem_id: int) -> list[ProblemEvent]:
        rows = await self.db.fetchall(
            "SELECT problem_id, actor_id, action, target_id, note, at FROM problem_events "
            "WHERE problem_id = ? ORDER BY id",
            (problem_id,),
        )
        return [ProblemEvent(**dict(r)) for r in rows]

    # lists -------------------------------------------------------------------------------

    async def list_filtered(self, branch_id: int, states: Iterable[ProblemState],
                            category: str | None, *, limit: int, offset: int = 0,
                            newest_first: bool = False) -> tuple[list[Problem], int]:
        """One page of the branch's problems in ``states`` (and ``category``), with the total."""
        states = [s.value for s in states]
        where = f"branch_id = ? AND state IN ({_marks(states)})"
        params: list = [branch_id, *states]
        if category is not None:
            where += " AND category = ?"
            params.append(category)
        order = "raised_at DESC, id DESC" if newest_first else "raised_at, id"
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM problems WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        total = await self.db.fetchval(
            f"SELECT COUNT(*) FROM problems WHERE {where}", params, default=0
        )
        return [_problem(r) for r in rows], total

    async def solved_since(self, branch_id: int, since: int, *,
                           limit: int) -> tuple[list[Problem], int]:
        """已解决 or 已办结 problems whose (latest) fix was reported at or after ``since``."""
        where = "branch_id = ? AND state IN ('solved', 'done') AND solved_at >= ?"
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM problems WHERE {where} ORDER BY solved_at DESC, id DESC "
            "LIMIT ?",
            (branch_id, since, limit),
        )
        total = await self.db.fetchval(
            f"SELECT COUNT(*) FROM problems WHERE {where}", (branch_id, since), default=0
        )
        return [_problem(r) for r in rows], total

    async def overdue(self, targets: Targets, now: int, branch_id: int | None = None, *,
                      limit: int = -1) -> list[Problem]:
        """Unsolved problems past a target at ``now``, oldest first; in one branch or, with no
        branch, in every branch."""
        condition, params = overdue_now_sql(targets, now)
        where = condition
        if branch_id is not None:
            where = f"branch_id = ? AND {condition}"
            params = [branch_id, *params]
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM problems WHERE {where} "
            "ORDER BY branch_id, raised_at, id LIMIT ?",
            [*params, limit],
        )
        return [_problem(r) for r in rows]

    async def count_overdue(self, branch_id: int, targets: Targets, now: int) -> int:
        condition, params = overdue_now_sql(targets, now)
        return await self.db.fetchval(
            f"SELECT COUNT(*) FROM problems WHERE branch_id = ? AND {condition}",
            [branch_id, *params], default=0,
        )

    async def solved_before(self, before: int) -> list[Problem]:
        """已解决 problems in every branch whose fix was reported at or before ``before``."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM problems WHERE state = 'solved' AND solved_at <= ? "
            "ORDER BY id",
            (before,),
        )
        return [_problem(r) for r in rows]

    async def of_reporter(self, branch_id: int, user_id: int, limit: int) -> list[Problem]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM problems WHERE branch_id = ? AND reporter_id = ? "
            "ORDER BY state IN ('done', 'closed'), id DESC LIMIT ?",
            (branch_id, user_id, limit),
        )
        return [_problem(r) for r in rows]

    async def of_handler(self, branch_id: int, user_id: int, limit: int) -> list[Problem]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM problems WHERE branch_id = ? AND handler_id = ? "
            "ORDER BY state IN ('done', 'closed'), id DESC LIMIT ?",
            (branch_id, user_id, limit),
        )
        return [_problem(r) for r in rows]

    async def count_in_states(self, branch_id: int, states: Iterable[ProblemState]) -> int:
        states = [s.value for s in states]
        return await self.db.fetchval(
            f"SELECT COUNT(*) FROM problems WHERE branch_id = ? AND state IN ({_marks(states)})",
            [branch_id, *states], default=0,
        )
