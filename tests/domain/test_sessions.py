import asyncio
from datetime import datetime, timedelta

import pytest

from domain.branches import Actor
from domain.checkin_code import Verdict
from domain.errors import DomainError, Forbidden, NotFound
from tests.conftest import TZ
from tests.domain.conftest import HELPER, HELPER2, MASSES, SECRETARY, WISHER

TONIGHT = datetime(2026, 11, 27, 21, 0, tzinfo=TZ)  # the clock starts at 20:00 that day


def code(world, session) -> str:
    """The code shown on the screen at the clock's time (codes rotate, issue 13)."""
    return world.svc.sessions.code_now(session).code


def wrong_code(world, session) -> str:
    """A code that is neither valid nor expired for ``session`` now."""
    now = world.svc.clock.timestamp()
    return next(c for c in (f"{i}" * 4 for i in range(10))
                if world.svc.sessions.judge(session, c, now) is Verdict.WRONG)


async def schedule(world, **kw):
    args = {"topic": "党章学习", "starts": TONIGHT, "minutes": 60}
    args.update(kw)
    return await world.svc.sessions.create(world.branch_id, 5001, world.secretary, **args)


async def test_create_defaults_and_code(world, settings):
    s = await schedule(world, minutes=None)
    assert s.leader_id == SECRETARY and s.creator_id == SECRETARY
    assert s.ends_at - s.starts_at == settings.session_default_minutes * 60
    assert code(world, s) is not None and len(code(world, s)) == 4 and code(world, s).isdigit()
    codeless = await schedule(world, with_code=False)
    assert world.svc.sessions.code_now(codeless) is None


async def test_codes_are_not_predictable(world):
    codes = {code(world, await schedule(world)) for _ in range(30)}
    assert len(codes) > 20  # 30 draws from 10,000 values: collisions are rare


async def test_create_refusals(world):
    svc, b = world.svc, world.branch_id
    with pytest.raises(Forbidden):
        await svc.sessions.create(b, 5001, Actor(MASSES), "学习", TONIGHT)
    with pytest.raises(DomainError, match="时长"):
        await schedule(world, minutes=5)
    with pytest.raises(DomainError, match="已经过去"):
        await schedule(world, starts=TONIGHT - timedelta(days=1))
    with pytest.raises(DomainError, match="不能担任导学人"):
        await schedule(world, leader_id=MASSES)
    # an eligible member may schedule one, leading it themself
    s = await svc.sessions.create(b, 5001, Actor(HELPER), "学习", TONIGHT)
    assert s.leader_id == HELPER


async def test_rotation_gives_the_next_leader_and_advances(world):
    svc, b = world.svc, world.branch_id
    await svc.sessions.set_rotation(b, world.secretary, [HELPER, HELPER2, HELPER])
    members, next_index, _ = await svc.sessions.rotation(b)
    assert members == [HELPER, HELPER2] and next_index == 0
    leaders = [(await schedule(world)).leader_id for _ in range(3)]
    assert leaders == [HELPER, HELPER2, HELPER]
    named = await schedule(world, leader_id=SECRETARY)  # naming someone does not advance
    assert named.leader_id == SECRETARY
    assert (await svc.sessions.rotation(b))[1] == 1
    with pytest.raises(DomainError, match="不能加入轮值"):
        await svc.sessions.set_rotation(b, world.secretary, [MASSES])
    with pytest.raises(Forbidden):
        await svc.sessions.set_rotation(b, Actor(HELPER), [HELPER])


@pytest.mark.parametrize(("offset", "is_open"), [
    (timedelta(minutes=-30, seconds=-1), False),  # just before the window opens
    (timedelta(minutes=-30), True),  # exactly at open: start - checkin_open_before
    (timedelta(minutes=60 + 30), True),  # exactly at close: end + checkin_close_after
    (timedelta(minutes=60 + 30, seconds=1), False),  # just after it closes
])
async def test_checkin_window_edges(world, clock, offset, is_open):
    s = await schedule(world)
    clock.set(TONIGHT + offset)
    if is_open:
        result = await world.svc.sessions.check_in(world.branch_id, WISHER, code(world, s))
        assert result.new and result.session.id == s.id
    else:
        with pytest.raises(DomainError, match="没有正在签到的导学"):
            await world.svc.sessions.check_in(world.branch_id, WISHER, code(world, s))


async def test_checkin_books_points_once_and_answers_duplicates(world, clock, settings):
    svc, b = world.svc, world.branch_id
    s = await schedule(world)
    clock.set(TONIGHT)
    first = await svc.sessions.check_in(b, WISHER, code(world, s))
    assert first.new and first.points == settings.points_checkin
    again = await svc.sessions.check_in(b, WISHER, code(world, s))
    assert not again.new and again.points == 0 and again.at == first.at
    assert (await svc.points.summary(b, WISHER)).breakdown == {"出勤": settings.points_checkin}


async def test_wrong_codes_lock_out_after_the_limit(world, clock, settings):
    svc, b = world.svc, world.branch_id
    s = await schedule(world)
    clock.set(TONIGHT)
    wrong = wrong_code(world, s)
    for left in range(settings.checkin_max_wrong - 1, 0, -1):
        with pytest.raises(DomainError, match=f"还可以再试 {left} 次"):
            await svc.sessions.check_in(b, WISHER, wrong)
    with pytest.raises(Forbidden, match="已锁定"):
        await svc.sessions.check_in(b, WISHER, wrong)
    with pytest.raises(Forbidden, match="已锁定"):
        await svc.sessions.check_in(b, WISHER, code(world, s))  # even the right code now
    assert (await svc.sessions.check_in(b, HELPER, code(world, s))).new  # others are not affected
    with pytest.raises(DomainError, match="请发送 /签到"):
        await svc.sessions.check_in(b, HELPER2, None)  # no code: not counted as wrong
    assert await svc.sessions.repo.wrong_count(s.id, HELPER2) == 0


async def test_codeless_session_accepts_plain_checkin(world, clock):
    s = await schedule(world, with_code=False)
    clock.set(TONIGHT)
    result = await world.svc.sessions.check_in(world.branch_id, WISHER, None)
    assert result.new and result.session.id == s.id


async def test_cancelled_session_cannot_be_checked_into(world, clock):
    svc, b = world.svc, world.branch_id
    s = await schedule(world)
    with pytest.raises(Forbidden):
        await svc.sessions.cancel(b, Actor(HELPER), s.id)
    await svc.sessions.cancel(b, world.secretary, s.id)
    clock.set(TONIGHT)
    with pytest.raises(DomainError, match="没有正在签到"):
        await svc.sessions.check_in(b, WISHER, code(world, s))
    with pytest.raises(DomainError, match="已经取消"):
        await svc.sessions.cancel(b, world.secretary, s.id)


async def test_leader_may_cancel_but_not_after_the_end(world, clock):
    svc, b = world.svc, world.branch_id
    s = await schedule(world, leader_id=HELPER)
    other = await schedule(world, leader_id=HELPER)
    assert (await svc.sessions.cancel(b, Actor(HELPER), s.id)).state == "cancelled"
    clock.set(TONIGHT + timedelta(hours=2))
    with pytest.raises(DomainError, match="已经结束"):
        await svc.sessions.cancel(b, Actor(HELPER), other.id)


async def test_manual_checkin_is_audited_in_the_ledger(world, clock, settings):
    svc, b = world.svc, world.branch_id
    s = await schedule(world)
    with pytest.raises(DomainError, match="还没开始签到"):
        await svc.sessions.manual_check_in(b, world.secretary, s.id, WISHER, "手机没电")
    clock.set(TONIGHT + timedelta(minutes=10))
    with pytest.raises(Forbidden):
        await svc.sessions.manual_check_in(b, Actor(HELPER), s.id, WISHER, "手机没电")
    with pytest.raises(DomainError, match="补签原因不能为空"):
        await svc.sessions.manual_check_in(b, world.secretary, s.id, WISHER, " ")
    result = await svc.sessions.manual_check_in(b, world.secretary, s.id, WISHER, "手机没电")
    assert result.new and result.points == settings.points_checkin
    [entry], _ = await svc.points.ledger.entries_of(b, WISHER, limit=5)
    assert entry.operator_id == SECRETARY and "补签：手机没电" in entry.reason
    with pytest.raises(DomainError, match="已经签到过"):
        await svc.sessions.manual_check_in(b, world.secretary, s.id, WISHER, "再补")


async def test_sheet_lists_attendance_and_eligible_absentees(world, clock):
    svc, b = world.svc, world.branch_id
    s = await schedule(world)
    clock.set(TONIGHT)
    await svc.sessions.check_in(b, HELPER, code(world, s))
    await svc.sessions.check_in(b, MASSES, code(world, s))  # a 群众 may attend, not eligible
    with pytest.raises(Forbidden):
        await svc.sessions.sheet(s.id, Actor(HELPER), b)
    sheet = await svc.sessions.sheet(s.id, world.secretary, b)
    assert [c.user_id for c, _ in sheet.attendees] == [HELPER, MASSES]
    # eligible: HELPER (正式党员), HELPER2 (入党积极分子); SECRETARY is 书记 but 群众 identity
    assert sheet.eligible == 2 and sheet.eligible_present == 1 and sheet.rate == 0.5
    assert [m.user_id for m in sheet.absent] == [HELPER2]


async def test_code_is_shown_only_to_leader_creator_and_admins(world):
    svc = world.svc
    s = await schedule(world, leader_id=HELPER)
    for who in (Actor(HELPER), world.secretary, Actor(10000, is_superuser=True)):
        assert code(world, await svc.sessions.code_for(s.id, who)) == code(world, s)
    # a member of the branch is told who may see it; anyone else is not told it exists
    with pytest.raises(Forbidden, match="只发给本场导学人"):
        await svc.sessions.code_for(s.id, Actor(WISHER))
    for outsider_asks in (svc.sessions.code_for, svc.sessions.sheet):
        with pytest.raises(NotFound, match=f"没有找到导学 #{s.id}"):
            await outsider_asks(s.id, Actor(99999))


async def test_notes_rules(world, clock, settings):
    svc, b = world.svc, world.branch_id
    s = await schedule(world)
    note = "读" * settings.note_min_length
    with pytest.raises(DomainError, match="没有你签到过的导学"):
        await svc.sessions.add_note(b, WISHER, note)
    clock.set(TONIGHT)
    await svc.sessions.check_in(b, WISHER, code(world, s))
    with pytest.raises(DomainError, match=f"至少 {settings.note_min_length} 字"):
        await svc.sessions.add_note(b, WISHER, "太短")
    with pytest.raises(DomainError, match="最多 2000 字"):
        await svc.sessions.add_note(b, WISHER, "长" * 2001)
    result = await svc.sessions.add_note(b, WISHER, note)
    assert result.session.id == s.id and result.points == settings.points_note
    with pytest.raises(DomainError, match="已经提交过"):
        await svc.sessions.add_note(b, WISHER, note + "再来")
    assert (await svc.points.summary(b, WISHER)).breakdown["互动"] == settings.points_note


async def test_notes_close_after_the_window(world, clock, settings):
    svc, b = world.svc, world.branch_id
    s = await schedule(world)
    clock.set(TONIGHT)
    await svc.sessions.check_in(b, WISHER, code(world, s))
    clock.set(TONIGHT + timedelta(hours=1, days=settings.note_window_days, seconds=1))
    with pytest.raises(DomainError, match="没有你签到过的导学"):
        await svc.sessions.add_note(b, WISHER, "读" * settings.note_min_length)


async def test_interaction_points_have_a_daily_cap(world, clock, settings):
    svc, b = world.svc, world.branch_id
    note = "读" * settings.note_min_length
    booked = []
    for hour in (9, 11, 13):  # three sessions the next day
        start = datetime(2026, 11, 28, hour, 0, tzinfo=TZ)
        s = await schedule(world, starts=start)
        clock.set(start)
        await svc.sessions.check_in(b, WISHER, code(world, s))
        booked.append((await svc.sessions.add_note(b, WISHER, note)).points)
    assert booked == [3, 3, 0] and sum(booked) == settings.interaction_daily_cap


async def test_burst_of_checkins_is_recorded_completely(world, clock, settings):
    svc, b = world.svc, world.branch_id
    s = await schedule(world)
    clock.set(TONIGHT)
    people = list(range(40000, 40300))
    for uid in people:  # only people with a profile may check in (issue 13)
        await svc.branches.register(b, uid, f"同学{uid}", None, None)
    attempts = people + people[:100]  # a third of them send twice
    shown = code(world, s)
    results = await asyncio.gather(*(svc.sessions.check_in(b, uid, shown) for uid in attempts))
    assert sum(r.new for r in results) == len(people)
    rows = await svc.sessions.repo.checkins(s.id)
    assert sorted(r.user_id for r in rows) == people
    entries = await svc.db.fetchval("SELECT COUNT(*) FROM ledger WHERE ref LIKE 'checkin:%'")
    assert entries == len(people)


async def test_scheduled_messages_are_queued_once_and_never_name_absentees(world, clock):
    svc, b = world.svc, world.branch_id
    s = await schedule(world, leader_id=HELPER)
    times = svc.sessions.job_times(s)
    assert set(times) == {"remind", "summary"}  # created after 20:00 the evening before
    tomorrow = await schedule(world, starts=TONIGHT + timedelta(days=1), leader_id=HELPER)
    assert svc.sessions.job_times(tomorrow)["leader"] == int(
        datetime(2026, 11, 27, 20, 0, tzinfo=TZ).timestamp())
    assert await svc.sessions.fire_job(tomorrow.id, "leader")
    assert await svc.sessions.fire_job(s.id, "remind")
    assert not await svc.sessions.fire_job(s.id, "remind")
    clock.set(TONIGHT)
    await svc.sessions.check_in(b, HELPER, code(world, s))
    await svc.sessions.fire_job(s.id, "summary")
    rows = await svc.outbox.repo.all()
    leader_msg = next(r for r in rows if r[1] == "private")
    # codes rotate: the leader gets the screen link and the command, not a code (issue 13)
    assert leader_msg[2] == HELPER and tomorrow.screen_token in leader_msg[5]
    assert f"/导学 签到码 #{tomorrow.id}" in leader_msg[5]
    remind = next(r for r in rows if "将于 21:00 开始" in r[5])
    assert code(world, s) not in remind[5]
    summary = rows[-1][5]
    assert "签到 1 人" in summary and "出勤率 50%" in summary
    assert "助人者二" not in summary  # the absentee is not named in the group
