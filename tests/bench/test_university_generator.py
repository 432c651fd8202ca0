"""The school generator of the university benchmark (``bench/school.py``), tiny: three
branches for a month, built through the real services. Every ``/统计`` figure below, of every
branch and both terms, equals a count over what the generator journaled it did — counted
here, without the report code — so the generator and the report cannot drift apart."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

import pytest

from bench.school import TINY, TZ, Journal, build_school
from config import BranchConfig
from domain.clock import FrozenClock
from domain.services import open_services

# any Monday 08:55 will do: the year is lived on a frozen clock ending there
ANCHOR = datetime(2031, 3, 3, 8, 55, tzinfo=TZ)
SETTINGS = BranchConfig()


@pytest.fixture(scope="module")
async def built(tmp_path_factory):
    journal = Journal(keep=True)
    path = str(tmp_path_factory.mktemp("school") / "school.db")
    await build_school(TINY, ANCHOR, path, journal)
    svc = await open_services(SETTINGS, FrozenClock(ANCHOR), path)
    try:
        yield journal, svc
    finally:
        await svc.db.close()


class Expected:
    """The figures of one branch and term, counted over the journal."""

    def __init__(self, journal: Journal, branch_id: int, since: int, until: int,
                 ended: bool) -> None:
        now = int(ANCHOR.timestamp())
        within = (lambda at: since <= at < until)  # noqa: E731
        # membership: at the term's end for an ended term, now for the current one
        moment = until if ended else now + 1
        identity, active = {}, {}
        for kind, *event in journal.events:
            if kind == "member" and event[0] == branch_id and event[4] < moment:
                identity[event[1]], active[event[1]] = event[2], True
            elif kind == "role" and event[0] == branch_id and event[3] < moment:
                identity[event[1]] = event[2]
            elif kind == "removed" and event[0] == branch_id and event[2] < moment:
                active[event[1]] = False
        members = {u: identity[u] for u, on in active.items() if on}
        eligible = {u for u, i in members.items() if i in SETTINGS.wish_claim_identities}
        self.members = len(members)
        self.by_identity = dict(Counter(members.values()))
        self.eligible = len(eligible)

        wishes = {w for b, w, at in journal.of("wish") if b == branch_id and within(at)}
        claimed = {w for b, w in journal.of("wish_claimed") if b == branch_id}
        ratings = {w: r for b, w, r in journal.of("wish_completed") if b == branch_id}
        self.wishes = (len(wishes), len(wishes & claimed), len(wishes & ratings.keys()),
                       sum(ratings[w] is not None for w in wishes & ratings.keys()),
                       sum((ratings[w] or 0) >= 4 for w in wishes & ratings.keys()))

        cancelled = {s for b, s in journal.of("cancelled") if b == branch_id}
        held = {s for b, s, kind, starts in journal.of("session")
                if b == branch_id and kind == "导学" and s not in cancelled
                and since <= starts < min(until, now + 1)}
        came = defaultdict(set)
        for b, s, user, _ in journal.of("checkin"):
            if b == branch_id:
                came[s].add(user)
        self.sessions = len(held)
        self.attendance = sorted(len(came[s] & eligible) / len(eligible) for s in held) \
            if eligible else []
        self.notes = sum(1 for b, s, _, _ in journal.of("note") if b == branch_id and s in held)

        term_ids = [t for b, t, at in journal.of("term") if b == branch_id and at == since]
        points: Counter = Counter()
        for b, term, user, delta in journal.of("points"):
            if b == branch_id and term in term_ids:
                points[user] += delta
        self.reaching = sum(points[u] >= SETTINGS.points_standard for u in eligible)
        gone = {u for u, on in active.items() if not on}
        board = sorted(((u, t) for u, t in points.items() if u not in gone
                        and (not ended or u in members)), key=lambda r: (-r[1], r[0]))
        self.top = [(rank, u, t) for rank, (u, t) in _ranked(board) if rank <= 3]

        problems = {p for b, p, at in journal.of("problem") if b == branch_id and within(at)}
        done = {p: r for b, p, r in journal.of("problem_done") if b == branch_id}
        closed = {p for b, p in journal.of("problem_closed") if b == branch_id}
        rated = [done[p] for p in problems & done.keys() if done[p] is not None]
        self.problems = (len(problems), len(problems & done.keys()), len(problems & closed),
                         len(rated), sum(r >= 4 for r in rated))
        self.polls = sum(1 for b, _, at in journal.of("poll") if b == branch_id and within(at))
        self.surveys = sum(1 for b, _, at in journal.of("survey")
                           if b == branch_id and within(at))


def _ranked(rows):
    rank, previous = 0, None
    for index, (user, total) in enumerate(rows, start=1):
        if total != previous:
            rank, previous = index, total
        yield rank, (user, total)


async def test_every_report_figure_equals_a_count_over_what_was_generated(built):
    journal, svc = built
    assert len(await svc.branches.all_branch_ids()) == TINY.branches
    assert journal.counts["checkin"] and journal.counts["wish"] and journal.counts["problem"]
    compared, seen = 0, Counter()
    for branch_id in await svc.branches.all_branch_ids():
        terms = await svc.branches.terms(branch_id)
        assert len(terms) == 2  # /学期 开始 once during the month
        for term in terms:
            report = await svc.reports.build_unchecked(branch_id, f"#{term.id}")
            want = Expected(journal, branch_id, term.started_at, report.until,
                            term.ended_at is not None)
            assert report.members == want.members
            assert report.by_identity == want.by_identity
            assert report.eligible == want.eligible
            assert (report.wishes_posted, report.wishes_claimed, report.wishes_completed,
                    report.wishes_rated, report.wishes_satisfied) == want.wishes
            assert report.sessions_held == want.sessions
            assert sorted(report.attendance_rates) == pytest.approx(want.attendance)
            assert report.notes == want.notes
            assert report.reaching_standard == want.reaching
            assert report.top == want.top
            p = report.problems
            assert (p.collected, p.done, p.closed, p.rated, p.satisfied) == want.problems
            assert (report.votes.polls, report.votes.surveys) == (want.polls, want.surveys)
            compared += 1
            seen.update(sessions=want.sessions, notes=want.notes, wishes=want.wishes[0],
                        rated=want.wishes[3], problems=want.problems[0], done=want.problems[1],
                        polls=want.polls, surveys=want.surveys, top=len(want.top))
    assert compared == 2 * TINY.branches
    assert all(seen[k] for k in ("sessions", "notes", "wishes", "rated", "problems", "done",
                                 "polls", "surveys", "top")), seen  # nothing compared empty


async def test_the_generator_is_refused_only_where_it_means_to_be(built):
    journal, _ = built
    refused = Counter(what for what, _ in journal.of("refused"))
    # a few check-ins start with a wrong code on purpose; nothing else is refused
    assert set(refused) <= {"checkin"}, journal.of("refused")
