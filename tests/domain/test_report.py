"""/统计 against a term whose every figure was counted by hand (see the docstring)."""

from datetime import datetime

import pytest

from domain.branches import Actor
from domain.errors import Forbidden
from tests.conftest import TZ

ROOT = Actor(1, is_superuser=True)
A, B, C, D, E, F = 71001, 71002, 71003, 71004, 71005, 71006


@pytest.fixture
async def fixture_term(svc, clock):
    """
    Members (active): A 正式党员 1楼, B 预备党员 1楼, C 入党积极分子 2楼, D 群众 2楼,
    E 发展对象 (no floor); F registered then removed. Eligible: A, B, C, E (4).
    Wishes, all posted by D: w1 C serves, rated 5; w2 A serves, rated 3; w3 B claims then
    gives up (open); w4 withdrawn unclaimed; w5 E serves, never rated → auto-completed.
      posted 5, claimed 4, completed 3, rated 2, satisfied 1 → satisfaction 50%.
    Sessions: s1 (A, C, D came: eligible 2/4), s2 (A, B, C, E: 4/4), s3 cancelled,
    s4 in the future. Held 2, average attendance (50% + 100%) / 2 = 75%. Notes: C on s1,
    A on s2 → 2.
    Points: A 5 (w2) + 2 + 2 + 3 (note) + 8 = 20; B 2 + 17 = 19; C 7 (w1) + 2 + 3 + 2 = 14;
    D 2 + 48 = 50; E 2 + 23 + 5 (w5) = 30. Standard 20 → A and E reach it: 2/4 = 50%.
    Top 3: D 50, E 30, A 20. Floors: 1楼 2 members, 2 eligible, 1 reaching; 2楼 2, 1, 0;
    未填楼层 1, 1, 1. Coverage with 10 group members: 5/10 = 50%.
    """
    b = (await svc.branches.branch_for_group(7001)).id
    for uid, name, floor, identity in ((A, "甲", "1楼", "正式党员"), (B, "乙", "1楼", "预备党员"),
                                       (C, "丙", "2楼", "入党积极分子"), (D, "丁", "2楼", "群众"),
                                       (E, "戊", None, "发展对象"), (F, "己", "1楼", "正式党员")):
        await svc.branches.register(b, uid, name, floor, None)
        await svc.branches.set_role(b, ROOT, uid, identity)
    w = [await svc.wishes.post(b, 7001, D, f"心愿{i}") for i in range(1, 6)]
    for wish, helper in ((w[0], C), (w[1], A), (w[2], B), (w[4], E)):
        await svc.wishes.claim(b, wish.id, helper)
    s1, s2, s3, _s4 = [
        await svc.sessions.create(b, 7001, ROOT, topic, datetime(*when, tzinfo=TZ), 60)
        for topic, when in (("一", (2026, 11, 27, 21)), ("二", (2026, 11, 28, 10)),
                            ("三", (2026, 11, 28, 15)), ("四", (2026, 12, 10, 19)))
    ]
    note = "认真学习了党章，体会到党员要在服务同学中发挥先锋模范作用，争做表率。"
    clock.set(datetime(2026, 11, 27, 21, 0, tzinfo=TZ))
    for uid in (A, C, D):
        await svc.sessions.check_in(b, uid, svc.sessions.code_now(s1).code)
    await svc.sessions.add_note(b, C, note)
    await svc.wishes.mark_done(b, w[1].id, A, None)
    await svc.wishes.rate(b, w[1].id, D, 3, None)
    await svc.wishes.mark_done(b, w[0].id, C, None)
    await svc.wishes.rate(b, w[0].id, D, 5, None)
    await svc.wishes.give_up(b, w[2].id, B)
    await svc.wishes.withdraw(b, w[3].id, D)
    await svc.wishes.mark_done(b, w[4].id, E, None)
    clock.set(datetime(2026, 11, 28, 10, 0, tzinfo=TZ))
    for uid in (A, B, C, E):
        await svc.sessions.check_in(b, uid, svc.sessions.code_now(s2).code)
    await svc.sessions.add_note(b, A, note)
    await svc.sessions.cancel(b, ROOT, s3.id)
    for uid, delta in ((A, 8), (B, 17), (D, 48), (E, 23)):
        await svc.points.adjust(b, ROOT, uid, delta, "表现")
    clock.set(datetime(2026, 12, 6, 12, 0, tzinfo=TZ))
    assert len(await svc.wishes.auto_complete_overdue()) == 1
    await svc.branches.remove(b, ROOT, F)
    return b


async def test_every_report_figure_matches_the_hand_count(svc, fixture_term):
    report = await svc.reports.build(fixture_term, ROOT, None, group_members=10)
    assert report.members == 5
    assert report.by_identity == {"正式党员": 1, "预备党员": 1, "入党积极分子": 1, "群众": 1,
                                  "发展对象": 1}
    assert report.coverage == 0.5
    assert (report.wishes_posted, report.wishes_claimed, report.wishes_completed,
            report.wishes_rated, report.wishes_satisfied) == (5, 4, 3, 2, 1)
    assert report.satisfaction == 0.5
    assert report.sessions_held == 2
    assert report.attendance_rates == [0.5, 1.0] and report.average_attendance == 0.75
    assert report.notes == 2
    assert (report.eligible, report.reaching_standard, report.compliance) == (4, 2, 0.5)
    assert report.top == [(1, D, 50), (2, E, 30), (3, A, 20)]
    assert [(f.floor, f.members, f.eligible, f.reaching_standard) for f in report.floors] == [
        ("1楼", 2, 2, 1), ("2楼", 2, 1, 0), ("未填楼层", 1, 1, 1)]
    figures = dict(report.figures())
    assert figures["满意度"].startswith("50.0%") and figures["平均出勤率"] == "75.0%"
    assert figures["积分达标率"] == "50.0%（2/4 人达到标准）"
    assert figures["积分前三"] == "第1名 丁 50 分；第2名 戊 30 分；第3名 甲 20 分"


async def test_points_in_the_report_match_the_ledger(svc, fixture_term):
    totals = await svc.points.ledger.period_totals(
        fixture_term, f"term:{(await svc.branches.current_term(fixture_term)).id}")
    assert {A: 20, B: 19, C: 14, D: 50, E: 30}.items() <= totals.items()
    rows = await svc.db.fetchall(
        "SELECT user_id, SUM(delta) FROM ledger WHERE branch_id = ? GROUP BY user_id",
        (fixture_term,))
    assert dict((r[0], r[1]) for r in rows) == totals  # the aggregate equals the raw sum


async def test_report_is_admin_only_and_knows_its_term(svc, fixture_term, clock):
    with pytest.raises(Forbidden):
        await svc.reports.build(fixture_term, Actor(A), None)
    old = await svc.branches.current_term(fixture_term)
    await svc.branches.start_term(fixture_term, ROOT, "下学期")
    fresh = await svc.reports.build(fixture_term, ROOT, None)
    assert (fresh.wishes_posted, fresh.sessions_held, fresh.reaching_standard) == (0, 0, 0)
    again = await svc.reports.build(fixture_term, ROOT, old.name)
    assert (again.wishes_posted, again.sessions_held, again.top[0]) == (5, 2, (1, D, 50))
    assert again.coverage is None  # no group member count given
