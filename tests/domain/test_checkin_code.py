"""Rotating check-in codes, private check-in, the screen token and the leader (issue 13)."""

import sqlite3
from datetime import datetime, timedelta

import pytest

from domain.branches import Actor
from domain.checkin_code import CheckinCodes, ScreenStatus, Verdict
from domain.errors import DomainError, Forbidden
from domain.sessions import CODE_EXPIRED, REGISTER_FIRST, leader_reason
from storage.database import Database, available_migrations
from tests.conftest import TZ
from tests.domain.conftest import HELPER, HELPER2, SECRETARY, WISHER

TONIGHT = datetime(2026, 11, 27, 21, 0, tzinfo=TZ)  # the clock starts at 20:00 that day
# RFC 6238 appendix B: the SHA-1 secret "12345678901234567890", as base32
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


async def schedule(world, starts=TONIGHT, branch_id=None, **kw):
    return await world.svc.sessions.create(branch_id or world.branch_id, 5001, world.secretary,
                                           "党章学习", starts, 60, **kw)


async def with_secret(world, session, secret=RFC_SECRET):
    """The session with a known secret, so the test can name its codes."""
    await world.svc.db.execute("UPDATE sessions SET code_secret = ? WHERE id = ?",
                               (secret, session.id))
    world.svc.sessions._open_cache.clear()
    return await world.svc.sessions.get_any(session.id)


def shown(world, session) -> str:
    return world.svc.sessions.code_now(session).code


@pytest.mark.parametrize(("at", "digits", "expected"), [
    (59, 8, "94287082"), (1111111109, 8, "07081804"), (1234567890, 8, "89005924"),
    (2000000000, 8, "69279037"), (59, 4, "7082"), (1111111109, 6, "081804"),
])
def test_codes_are_rfc_6238_totp(at, digits, expected):
    assert CheckinCodes(30, digits).at(RFC_SECRET, at) == expected


def test_judge_at_period_edges():
    codes = CheckinCodes(60, 4)
    start = 1_800_000_000 - 1_800_000_000 % 60
    earlier, before, current = (codes.at(RFC_SECRET, start - 120), codes.at(RFC_SECRET, start - 1),
                                codes.at(RFC_SECRET, start))
    assert len({earlier, before, current}) == 3
    assert codes.now(RFC_SECRET, start - 1).seconds_left == 1
    assert codes.now(RFC_SECRET, start).seconds_left == 60
    for t in (start, start + 59):  # the previous period is still taken through this one
        assert codes.judge(RFC_SECRET, before, t, start - 600) is Verdict.VALID
        assert codes.judge(RFC_SECRET, current, t, start - 600) is Verdict.VALID
    assert codes.judge(RFC_SECRET, before, start + 60, start - 600) is Verdict.EXPIRED
    assert codes.judge(RFC_SECRET, earlier, start, start - 600) is Verdict.EXPIRED
    # a code from before the codes were shown was never seen: it is simply wrong
    assert codes.judge(RFC_SECRET, earlier, start, start - 60) is Verdict.WRONG


async def test_the_code_changes_each_period_and_the_previous_one_still_works(world, clock):
    svc, b = world.svc, world.branch_id
    s = await with_secret(world, await schedule(world))
    clock.set(TONIGHT - timedelta(seconds=1))
    old = svc.sessions.code_now(s)
    assert old.seconds_left == 1 and old.period == 60
    clock.set(TONIGHT)
    new = shown(world, s)
    assert new != old.code and svc.sessions.code_now(s).seconds_left == 60
    clock.set(TONIGHT + timedelta(seconds=59))
    assert (await svc.sessions.check_in(b, WISHER, old.code)).new  # previous period: taken
    clock.set(TONIGHT + timedelta(seconds=60))
    assert (await svc.sessions.check_in(b, HELPER, new)).new  # now the previous one


async def test_an_expired_code_is_refused_but_not_counted_as_wrong(world, clock, settings):
    svc, b = world.svc, world.branch_id
    s = await with_secret(world, await schedule(world))
    clock.set(TONIGHT)
    posted = shown(world, s)  # someone copies the code into the group…
    clock.set(TONIGHT + timedelta(minutes=3))  # …and others use it minutes later
    for _ in range(settings.checkin_max_wrong + 2):
        with pytest.raises(DomainError, match=CODE_EXPIRED):
            await svc.sessions.check_in(b, WISHER, posted)
    assert await svc.sessions.repo.wrong_count(s.id, WISHER) == 0
    assert (await svc.sessions.check_in(b, WISHER, shown(world, s))).new


async def test_wrong_codes_still_lock_out(world, clock, settings):
    svc, b = world.svc, world.branch_id
    s = await with_secret(world, await schedule(world))
    clock.set(TONIGHT + timedelta(minutes=3))
    now = clock.timestamp()
    wrong = next(c for c in (f"{i:04d}" for i in range(10000))
                 if svc.sessions.judge(s, c, now) is Verdict.WRONG)
    for left in range(settings.checkin_max_wrong - 1, 0, -1):
        with pytest.raises(DomainError, match=f"还可以再试 {left} 次"):
            await svc.sessions.check_in(b, WISHER, wrong)
    with pytest.raises(Forbidden, match="已锁定"):
        await svc.sessions.check_in(b, WISHER, wrong)
    assert await svc.sessions.repo.wrong_count(s.id, WISHER) == settings.checkin_max_wrong
    with pytest.raises(Forbidden, match="已锁定"):
        await svc.sessions.check_in(b, WISHER, shown(world, s))


async def test_a_session_from_before_rotation_keeps_its_fixed_code(world, clock):
    svc, b = world.svc, world.branch_id
    s = await schedule(world)
    await svc.db.execute("UPDATE sessions SET code = '4321', code_secret = NULL WHERE id = ?",
                         (s.id,))
    svc.sessions._open_cache.clear()
    s = await svc.sessions.get_any(s.id)
    clock.set(TONIGHT + timedelta(minutes=45))
    fixed = svc.sessions.code_now(s)
    assert fixed.code == "4321" and fixed.seconds_left is None
    assert (await svc.sessions.check_in(b, WISHER, "4321")).new
    with pytest.raises(DomainError, match="还可以再试 4 次"):
        await svc.sessions.check_in(b, HELPER, "1234")


async def test_migration_keeps_old_codes_and_gives_old_sessions_a_token(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for number, script in available_migrations():
        if number < 9:
            conn.executescript(script.read_text(encoding="utf-8"))
    conn.execute("PRAGMA user_version = 8")
    conn.execute("INSERT INTO branches (id, name, created_at) VALUES (1, '老支部', 0)")
    conn.execute("INSERT INTO sessions (branch_id, topic, starts_at, ends_at, leader_id, "
                 "creator_id, code, created_at) VALUES (1, '老导学', 100, 200, 7, 7, '8492', 0)")
    conn.commit()
    conn.close()
    db = Database(path)
    await db.open()
    try:
        row = await db.fetchone("SELECT code, code_secret, screen_token FROM sessions")
    finally:
        await db.close()
    assert row[0] == "8492" and row[1] is None and len(row[2]) == 48


async def test_outsiders_are_asked_to_register_and_nothing_is_booked(world, clock):
    svc, b = world.svc, world.branch_id
    s = await schedule(world)
    clock.set(TONIGHT)
    for attempt in (svc.sessions.check_in(b, 99999, shown(world, s)),
                    svc.sessions.check_in_private(99999, shown(world, s))):
        with pytest.raises(DomainError, match="请先在支部群里发送 /登记"):
            await attempt
    assert REGISTER_FIRST.count("\n") == 0  # one line
    assert await svc.sessions.repo.checkins(s.id) == []
    assert await svc.db.fetchval("SELECT COUNT(*) FROM ledger") == 0


async def test_private_checkin_with_one_open_session(world, clock):
    svc = world.svc
    s = await schedule(world)
    with pytest.raises(DomainError, match="现在没有正在签到的导学"):
        await svc.sessions.check_in_private(WISHER, shown(world, s))
    clock.set(TONIGHT)
    result = await svc.sessions.check_in_private(WISHER, shown(world, s))
    assert result.new and result.session.id == s.id


async def test_private_checkin_finds_the_session_whose_code_matches(world, clock, settings):
    svc = world.svc
    other = (await svc.branches.branch_for_group(5002)).id
    await svc.branches.register(other, WISHER, "许愿人", None, None)
    await svc.branches.register(other, SECRETARY, "书记", None, None)
    await svc.branches.set_role(other, Actor(1, is_group_admin=True), SECRETARY, "书记")
    here = await schedule(world)
    there = await world.svc.sessions.create(other, 5002, Actor(SECRETARY), "党史", TONIGHT, 60)
    same_branch = await schedule(world, starts=TONIGHT + timedelta(minutes=10))
    clock.set(TONIGHT + timedelta(minutes=5))
    codes = {s.id: shown(world, s) for s in (here, there, same_branch)}
    assert len(set(codes.values())) == 3
    assert (await svc.sessions.check_in_private(WISHER, codes[there.id])).session.id == there.id
    assert (await svc.sessions.check_in_private(WISHER, codes[same_branch.id])).session.id == (
        same_branch.id)
    # a wrong code counts against each open session the person has not checked in to yet
    now = clock.timestamp()
    wrong = next(c for c in (f"{i:04d}" for i in range(10000))
                 if all(svc.sessions.judge(s, c, now) is Verdict.WRONG
                        for s in (here, there, same_branch)))
    with pytest.raises(DomainError, match=f"还可以再试 {settings.checkin_max_wrong - 1} 次"):
        await svc.sessions.check_in_private(WISHER, wrong)
    assert await svc.sessions.repo.wrong_count(here.id, WISHER) == 1
    assert await svc.sessions.repo.wrong_count(there.id, WISHER) == 0  # already checked in
    result = await svc.sessions.check_in_private(WISHER, codes[here.id])
    assert result.new and result.session.id == here.id
    # someone only in the first branch cannot reach the second branch's session
    with pytest.raises(DomainError, match="还可以再试"):
        await svc.sessions.check_in_private(HELPER, codes[there.id])


async def test_screen_token_valid_wrong_and_outside_the_window(world, clock):
    svc = world.svc
    s = await schedule(world, leader_id=HELPER)
    assert len(s.screen_token) >= 32
    assert svc.sessions.screen_link(s).endswith(f"/zhibu/screen/{s.screen_token}")
    waiting = await svc.sessions.screen(s.screen_token)  # 20:00, the window opens at 20:30
    assert waiting.status is ScreenStatus.WAITING and waiting.code is None
    assert waiting.session.topic == "党章学习"  # what and when, never the code
    assert waiting.opens_at == svc.sessions.window(s)[0]
    clock.set(TONIGHT)
    await svc.sessions.check_in(world.branch_id, WISHER, shown(world, s))
    live = await svc.sessions.screen(s.screen_token)
    assert live.status is ScreenStatus.OPEN and live.session.topic == "党章学习"
    assert live.code.code == shown(world, s) and live.count == 1  # the page books nobody
    for token in (s.screen_token[:-1] + ("A" if s.screen_token[-1] != "A" else "B"),
                  "x", "../../etc/passwd", "a" * 500, ""):
        assert (await svc.sessions.screen(token)).status is ScreenStatus.INVALID
    clock.set(TONIGHT + timedelta(minutes=60 + 30, seconds=1))
    closed = await svc.sessions.screen(s.screen_token)
    assert closed.status is ScreenStatus.CLOSED and closed.session is None
    cancelled = await schedule(world, starts=TONIGHT + timedelta(days=1))
    await svc.sessions.cancel(world.branch_id, world.secretary, cancelled.id)
    clock.set(TONIGHT + timedelta(days=1))
    assert (await svc.sessions.screen(cancelled.screen_token)).status is ScreenStatus.CLOSED


async def test_the_leader_is_counted_present(world, clock, settings):
    svc, b = world.svc, world.branch_id
    by_code = await schedule(world, leader_id=HELPER)
    by_summary = await schedule(world, leader_id=SECRETARY, starts=TONIGHT + timedelta(hours=2))
    await svc.sessions.code_for(by_code.id, Actor(HELPER))  # before the window: nothing
    await svc.sessions.code_for(by_summary.id, Actor(SECRETARY))
    assert await svc.sessions.repo.checkins(by_code.id) == []
    assert await svc.sessions.repo.checkins(by_summary.id) == []
    clock.set(TONIGHT)
    for _ in range(3):  # the screen page polls: it books nobody, whoever opened it
        await svc.sessions.screen(by_code.screen_token)
    assert await svc.sessions.repo.checkins(by_code.id) == []
    for _ in range(2):  # the leader's own request for the code books them, once
        await svc.sessions.code_for(by_code.id, Actor(HELPER))
    [leader] = await svc.sessions.repo.checkins(by_code.id)
    assert leader.user_id == HELPER and leader.method == "manual"
    assert leader.operator_id is None and leader.reason == leader_reason(by_code) == "导学人到场"
    [entry], _ = await svc.points.ledger.entries_of(b, HELPER, limit=5)
    assert entry.delta == settings.points_checkin and "补签" not in entry.reason
    assert not (await svc.sessions.check_in(b, HELPER, shown(world, by_code))).new
    clock.set(TONIGHT + timedelta(hours=3, minutes=30))
    assert await svc.sessions.fire_job(by_summary.id, "summary")
    assert [c.user_id for c in await svc.sessions.repo.checkins(by_summary.id)] == [SECRETARY]
    assert not await svc.sessions.ensure_leader_present(by_summary)


async def test_a_leader_marked_absent_is_not_booked_at_close(world, clock):
    svc, b = world.svc, world.branch_id
    absent = await schedule(world, leader_id=HELPER)
    came = await schedule(world, leader_id=HELPER2, starts=TONIGHT + timedelta(minutes=5))
    with pytest.raises(Forbidden):
        await svc.sessions.mark_leader_absent(b, Actor(WISHER), absent.id, HELPER)
    with pytest.raises(DomainError, match="只有导学人需要记缺席"):
        await svc.sessions.mark_leader_absent(b, world.secretary, absent.id, WISHER)
    marked = await svc.sessions.mark_leader_absent(b, world.secretary, absent.id, HELPER)
    assert marked.leader_absent_by == SECRETARY
    clock.set(TONIGHT)
    await svc.sessions.code_for(came.id, Actor(HELPER2))  # booked: too late to mark absent
    with pytest.raises(DomainError, match="已经签到过"):
        await svc.sessions.mark_leader_absent(b, world.secretary, came.id, HELPER2)
    await svc.sessions.code_for(absent.id, Actor(HELPER))  # the admin's word stands
    clock.set(TONIGHT + timedelta(hours=2))
    assert await svc.sessions.fire_job(absent.id, "summary")
    assert await svc.sessions.repo.checkins(absent.id) == []
    with pytest.raises(DomainError, match="签到已经结束"):
        await svc.sessions.mark_leader_absent(b, world.secretary, came.id, HELPER2)


async def test_a_leader_without_a_profile_is_not_booked(world, clock):
    svc = world.svc
    s = await svc.sessions.create(world.branch_id, 5001, Actor(10000, is_superuser=True), "学习",
                                  TONIGHT, 60)
    clock.set(TONIGHT)
    assert not await svc.sessions.ensure_leader_present(s)
    assert await svc.sessions.repo.checkins(s.id) == []
