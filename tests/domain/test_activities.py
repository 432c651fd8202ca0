"""Activities: capacity and waitlist, promotion, deadlines, leave, rosters, 三会一课 frequency."""

import asyncio
from datetime import datetime, timedelta

import pytest

from domain.activities import ABSENT, ATTENDED, MADE_UP, ON_LEAVE, period_of, periods_between
from domain.branches import Actor
from domain.errors import DomainError, Forbidden, NotFound
from tests.conftest import TZ
from tests.domain.conftest import HELPER, HELPER2, MASSES, SECRETARY, WISHER

TONIGHT = datetime(2026, 11, 27, 21, 0, tzinfo=TZ)  # the clock starts at 20:00 that day


async def share(world, capacity=3, **kw):
    args = {"kind": "微分享", "topic": "考研经验", "starts": TONIGHT, "minutes": 60,
            "capacity": capacity}
    args.update(kw)
    return await world.svc.activities.create(world.branch_id, 5001, world.secretary, **args)


async def add_people(world, count: int, first: int = 300000) -> list[int]:
    for i in range(count):
        await world.svc.branches.register(world.branch_id, first + i, f"同学{i}", "5楼", None)
    return [first + i for i in range(count)]


async def test_capacity_then_waitlist_in_order_and_twice_is_answered(world):
    svc, b = world.svc, world.branch_id
    a = await share(world, capacity=2)
    people = await add_people(world, 4)
    results = [await svc.activities.sign_up(b, p, a.id) for p in people]
    assert [(r.status, r.position) for r in results] == [
        ("confirmed", None), ("confirmed", None), ("waitlist", 1), ("waitlist", 2)]
    again = await svc.activities.sign_up(b, people[3], a.id)
    assert not again.new and again.position == 2
    assert await svc.activities.counts(a) == (2, 2)


async def test_cancel_promotes_the_first_waiting_and_tells_them(world):
    svc, b = world.svc, world.branch_id
    a = await share(world, capacity=2)
    p = await add_people(world, 4)
    for person in p:
        await svc.activities.sign_up(b, person, a.id)
    result = await svc.activities.cancel_signup(b, p[0], a.id)
    assert result.was == "confirmed" and result.promoted == [p[2]] and not result.late
    assert await svc.activities.counts(a) == (2, 1)
    assert await svc.activities.repo.waitlist_position(a.id, p[3]) == 1
    rows = await svc.db.fetchall("SELECT target_type, target_id, segments FROM outbox "
                                 "WHERE kind = 'waitlist_promoted'")
    assert [(r[0], r[1]) for r in rows] == [("private", p[2])]
    assert "候补转为" in rows[0][2]
    # a waiting person cancelling promotes nobody
    result = await svc.activities.cancel_signup(b, p[3], a.id)
    assert result.was == "waitlist" and result.promoted == []
    with pytest.raises(DomainError, match="没有报名"):
        await svc.activities.cancel_signup(b, p[3], a.id)


async def test_raising_capacity_promotes_in_order_and_lowering_never_drops_anyone(world):
    svc, b = world.svc, world.branch_id
    a = await share(world, capacity=2)
    p = await add_people(world, 5)
    for person in p:
        await svc.activities.sign_up(b, person, a.id)
    updated, promoted = await svc.activities.set_capacity(b, world.secretary, a.id, 4)
    assert updated.capacity == 4 and promoted == [p[2], p[3]]
    with pytest.raises(DomainError, match="已有 4 人报名成功，名额不能少于 4"):
        await svc.activities.set_capacity(b, world.secretary, a.id, 3)
    assert (await svc.activities.get(b, a.id)).capacity == 4
    with pytest.raises(Forbidden):
        await svc.activities.set_capacity(b, Actor(WISHER), a.id, 10)
    with pytest.raises(DomainError, match="1 到 2000"):
        await svc.activities.set_capacity(b, world.secretary, a.id, 2001)


async def test_500_at_once_for_200_places_gives_exactly_200_and_positions_1_to_300(world):
    svc, b = world.svc, world.branch_id
    a = await share(world, capacity=200)
    people = await add_people(world, 500)
    results = await asyncio.gather(*(svc.activities.sign_up(b, p, a.id) for p in people))
    confirmed = [r for r in results if r.status == "confirmed"]
    waiting = sorted(r.position for r in results if r.status == "waitlist")
    assert len(confirmed) == 200 and waiting == list(range(1, 301))
    assert await svc.activities.counts(a) == (200, 300)


async def test_the_database_refuses_more_confirmed_than_places(world):
    import sqlite3

    svc, b = world.svc, world.branch_id
    a = await share(world, capacity=1)
    await svc.activities.sign_up(b, WISHER, a.id)
    with pytest.raises(sqlite3.IntegrityError, match="full"):
        async with svc.db.transaction():
            await svc.db.execute("INSERT INTO signups (session_id, user_id, status, seq, "
                                 "signed_at) VALUES (?, ?, 'confirmed', 99, 0)", (a.id, HELPER))


async def test_deadline_edges_and_late_cancel(world, clock):
    svc, b = world.svc, world.branch_id
    deadline = TONIGHT - timedelta(minutes=30)
    a = await share(world, deadline=deadline)
    clock.set(deadline - timedelta(seconds=1))
    assert (await svc.activities.sign_up(b, WISHER, a.id)).status == "confirmed"
    clock.set(deadline)
    with pytest.raises(DomainError, match="报名已经截止"):
        await svc.activities.sign_up(b, HELPER, a.id)
    result = await svc.activities.cancel_signup(b, WISHER, a.id)
    assert result.late
    with pytest.raises(DomainError, match="不能晚于活动开始"):
        await share(world, deadline=TONIGHT + timedelta(minutes=1))
    with pytest.raises(DomainError, match="不用报名"):
        await svc.activities.create(b, 5001, world.secretary, "支部党员大会", "大会",
                                    TONIGHT + timedelta(days=1), capacity=10)
    with pytest.raises(DomainError, match="名额是 1 到 2000"):
        await share(world, capacity=0, starts=TONIGHT + timedelta(days=1))


async def test_who_may_create_which_kind(world):
    svc, b = world.svc, world.branch_id
    with pytest.raises(Forbidden, match="发起支委会需要是支委、书记。"):
        await svc.activities.create(b, 5001, Actor(HELPER), "支委会", "月度支委会",
                                    TONIGHT + timedelta(days=1))
    made = await svc.activities.create(b, 5001, Actor(HELPER), "志愿服务", "打扫楼道",
                                       TONIGHT + timedelta(days=1), capacity=5)
    assert made.kind == "志愿服务" and made.leader_id == HELPER
    with pytest.raises(DomainError, match="活动类型可以是"):
        await svc.activities.create(b, 5001, world.secretary, "聚餐", "x", TONIGHT)
    with pytest.raises(NotFound, match="没有找到活动 #999"):
        await svc.activities.get(b, 999)


async def test_leave_rules_and_the_four_states(world, clock):
    svc, b = world.svc, world.branch_id
    owner = Actor(1, is_group_admin=True)
    for uid in (WISHER, HELPER2, MASSES):
        await svc.branches.set_role(b, owner, uid, "预备党员")
    meeting = await svc.activities.create(b, 5001, world.secretary, "支部党员大会",
                                          "第四季度党员大会", TONIGHT, 60, with_code=False)
    await svc.activities.ask_leave(b, WISHER, meeting.id, "实习在外地")
    await svc.activities.ask_leave(b, HELPER2, meeting.id, "考试")
    with pytest.raises(DomainError, match="已经为支部党员大会 #1 请过假"):
        await svc.activities.ask_leave(b, WISHER, meeting.id, "再请一次")
    with pytest.raises(DomainError, match="不在支部党员大会 #1 的应到名单"):
        await svc.activities.ask_leave(b, SECRETARY, meeting.id, "书记不是党员身份")
    clock.set(TONIGHT)
    with pytest.raises(DomainError, match="已经开始，不能再请假"):
        await svc.activities.ask_leave(b, MASSES, meeting.id, "晚了")
    await svc.sessions.check_in(b, HELPER, None)
    await svc.sessions.manual_check_in(b, world.secretary, meeting.id, MASSES, "补学党章")
    await svc.sessions.check_in(b, SECRETARY, None)  # not expected: a walk-in
    roster = await svc.activities.roster(meeting)
    assert roster.states == {WISHER: ON_LEAVE, HELPER2: ON_LEAVE, HELPER: ATTENDED,
                             MASSES: MADE_UP}
    assert roster.walk_ins == [SECRETARY] and roster.rate == 0.5


async def test_absent_members_of_a_meeting_are_told_once_and_no_names_in_the_group(world, clock):
    svc, b = world.svc, world.branch_id
    owner = Actor(1, is_group_admin=True)
    await svc.branches.set_role(b, owner, WISHER, "预备党员")
    meeting = await svc.activities.create(b, 5001, world.secretary, "党课", "党史专题",
                                          TONIGHT, 60, with_code=False)
    await svc.branches.groups(b)
    clock.set(TONIGHT)
    await svc.sessions.check_in(b, HELPER, None)
    for _ in range(2):
        await svc.sessions.fire_job(meeting.id, "summary")
    rows = await svc.db.fetchall("SELECT target_type, target_id, segments FROM outbox "
                                 "WHERE kind IN ('activity_summary', 'absence_notice')")
    private = [(r[0], r[1]) for r in rows if r[0] == "private"]
    assert private == [("private", WISHER)]
    group_texts = [r[2] for r in rows if r[0] == "group"]
    assert len(group_texts) == 1 and "应到 2 人，出席 1 人" in group_texts[0]
    assert "许愿人" not in group_texts[0]


async def test_signup_kind_roster_no_shows_and_waitlisted_walk_in(world, clock):
    svc, b = world.svc, world.branch_id
    a = await share(world, capacity=2, with_code=False)
    for uid in (WISHER, HELPER, HELPER2):
        await svc.activities.sign_up(b, uid, a.id)
    clock.set(TONIGHT)
    await svc.sessions.check_in(b, WISHER, None)
    await svc.sessions.check_in(b, HELPER2, None)  # on the waitlist: a walk-in
    roster = await svc.activities.roster(a)
    assert roster.states == {WISHER: ATTENDED, HELPER: ABSENT}
    assert roster.no_shows == [HELPER] and roster.waitlisted_walk_ins == [HELPER2]


def test_month_and_quarter_edges_in_shanghai():
    assert period_of(datetime(2026, 3, 31, 23, 59, tzinfo=TZ), "quarter") == (
        datetime(2026, 1, 1, tzinfo=TZ), datetime(2026, 4, 1, tzinfo=TZ))
    assert period_of(datetime(2026, 4, 1, 0, 0, tzinfo=TZ), "quarter")[0] == datetime(
        2026, 4, 1, tzinfo=TZ)
    assert period_of(datetime(2026, 12, 15, tzinfo=TZ), "month") == (
        datetime(2026, 12, 1, tzinfo=TZ), datetime(2027, 1, 1, tzinfo=TZ))
    assert period_of(datetime(2026, 11, 5, tzinfo=TZ), "quarter")[1] == datetime(
        2027, 1, 1, tzinfo=TZ)
    months = periods_between(datetime(2026, 9, 1, tzinfo=TZ), datetime(2027, 1, 20, tzinfo=TZ),
                             "month")
    assert len(months) == 5  # Sep, Oct, Nov, Dec, Jan


async def test_meetings_behind_their_frequency_are_reported_to_admins_once(world, clock):
    svc, b = world.svc, world.branch_id
    behind = await svc.activities.behind(b)
    assert "本季度尚未召开支部党员大会" in behind and "本月尚未召开支委会" in behind
    meeting = await svc.activities.create(b, 5001, world.secretary, "支委会", "十一月支委会",
                                          TONIGHT, 60)
    clock.set(TONIGHT + timedelta(minutes=1))
    assert "本月尚未召开支委会" not in await svc.activities.behind(b)
    assert meeting.kind == "支委会"
    assert await svc.activities.queue_behind_notices() == 1  # the 书记 is the one admin
    assert await svc.activities.queue_behind_notices() == 0  # once a month
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    assert "本月尚未召开支委会" in await svc.activities.behind(b)


async def test_report_figures_per_kind_on_a_hand_counted_term(world, clock):
    """Hand count. People: HELPER 正式党员, HELPER2 积极分子, WISHER/MASSES made 预备党员,
    SECRETARY 书记 (群众, the one 支委/书记).
    - 微分享 #1 (2 places): WISHER, HELPER confirmed, HELPER2 waiting. Came: WISHER, HELPER2
      (a waitlisted walk-in). → 举办 1, 报名 3 (候补 1), confirmed 2, no-shows 1 (HELPER) →
      报名未到率 50.0%, 参与 2 人次 (2 人), 平均出勤率 = expected are the confirmed: 1/2 = 50.0%.
    - 支部党员大会 #2: expected the 3 party members (HELPER, WISHER, MASSES); WISHER on leave,
      HELPER came, MASSES absent → 出勤率 1/3 = 33.3%, 按时召开 1/1 quarter (Q4 2026).
    - 支委会: none held; the term (Nov 27 → Nov 28, 2026) overlaps 1 month → 0/1.
    - 导学 stays out of these rows (its figures are the report's own).
    """
    svc, b = world.svc, world.branch_id
    owner = Actor(1, is_group_admin=True)
    for uid in (WISHER, MASSES):
        await svc.branches.set_role(b, owner, uid, "预备党员")
    a = await share(world, capacity=2, with_code=False)
    for uid in (WISHER, HELPER, HELPER2):
        await svc.activities.sign_up(b, uid, a.id)
    meeting = await svc.activities.create(b, 5001, world.secretary, "支部党员大会", "大会",
                                          TONIGHT + timedelta(hours=2), 60, with_code=False)
    await svc.activities.ask_leave(b, WISHER, meeting.id, "实习")
    clock.set(TONIGHT)
    await svc.sessions.check_in(b, WISHER, None)
    await svc.sessions.check_in(b, HELPER2, None)
    clock.set(TONIGHT + timedelta(hours=2))
    await svc.sessions.check_in(b, HELPER, None)
    clock.set(TONIGHT + timedelta(days=1))
    report = await svc.reports.build(b, world.secretary)
    rows = dict(report.figures())
    assert rows["活动·微分享"] == ("举办 1 场，报名 3 人次（候补 1），报名未到率 50.0%，"
                                "参与 2 人次（2 人），平均出勤率 50.0%")
    assert rows["活动·支部党员大会"] == ("举办 1 场，参与 1 人次（1 人），平均出勤率 33.3%，"
                                   "按时召开 1/1 个季度")
    assert rows["活动·支委会"] == "举办 0 场，参与 0 人次（0 人），平均出勤率 —，按时召开 0/1 个月"
    assert "活动·导学" not in rows
    sheets = {title: rows for title, _, rows in await svc.activities.sheets(
        b, report.since, report.until)}
    assert [(r[0], r[1], r[7], r[8], r[9]) for r in sheets["活动"]] == [
        (a.id, "微分享", 2, 1, 1), (meeting.id, "支部党员大会", 0, 0, None)]
    states = sorted((r[0], r[3], r[5]) for r in sheets["出勤"])
    assert states == sorted([(a.id, WISHER, "出席"), (a.id, HELPER, "缺席"),
                             (a.id, HELPER2, "候补到场"), (meeting.id, HELPER, "出席"),
                             (meeting.id, WISHER, "请假"), (meeting.id, MASSES, "缺席")])


async def test_other_kinds_call_their_leader_fuzeren_not_daoxueren(world, clock, settings):
    svc, b = world.svc, world.branch_id
    volunteering = await share(world, kind="志愿服务", topic="清扫楼道", leader_id=HELPER)
    with pytest.raises(Forbidden, match="本场负责人") as refused:
        await svc.sessions.cancel(b, Actor(WISHER), volunteering.id)
    assert "导学人" not in str(refused.value)
    with pytest.raises(Forbidden, match="只发给本场负责人"):
        await svc.sessions.code_for(volunteering.id, Actor(WISHER))
    clock.set(TONIGHT)
    await svc.sessions.code_for(volunteering.id, Actor(HELPER))
    [entry], _ = await svc.points.ledger.entries_of(b, HELPER, limit=5)
    assert entry.reason == "志愿服务 #1 签到（负责人到场）"
    wrong = next(c for c in (f"{i:04d}" for i in range(10000))
                 if svc.sessions.judge(volunteering, c, clock.timestamp()).value == "wrong")
    for _ in range(settings.checkin_max_wrong - 1):
        with pytest.raises(DomainError):
            await svc.sessions.check_in(b, WISHER, wrong)
    with pytest.raises(Forbidden, match="请联系负责人或支委补签"):
        await svc.sessions.check_in(b, WISHER, wrong)
