from datetime import datetime

import pytest

from domain.branches import Actor
from domain.errors import DomainError, Forbidden, NotFound
from domain.models import Category
from tests.conftest import TZ
from tests.domain.conftest import HELPER, HELPER2, MASSES, SECRETARY, WISHER

ADMIN = Actor(1, is_group_admin=True)


async def award(world, user_id, delta, reason="测试"):
    return await world.svc.points.book(world.branch_id, user_id, Category.AWARD, delta, reason,
                                       ref=None)


async def test_board_ranks_ties_together_and_shows_my_place(world):
    svc, b = world.svc, world.branch_id
    for uid, pts in ((WISHER, 10), (HELPER, 10), (HELPER2, 7), (MASSES, 3)):
        await award(world, uid, pts)
    board = await svc.points.board(b, "学期", MASSES)
    assert board.rows == [(1, WISHER, 10), (1, HELPER, 10), (3, HELPER2, 7), (4, MASSES, 3)]
    assert board.mine == (4, 3, 4) and board.ranked == 4
    nobody = await svc.points.board(b, "学期", SECRETARY)
    assert nobody.mine is None and nobody.ranked == 4


async def test_board_shows_only_rank_size_rows_but_my_place_anyway(world, settings):
    svc, b = world.svc, world.branch_id
    for i in range(settings.rank_size + 5):
        await award(world, 90000 + i, 100 - i)
    board = await svc.points.board(b, "总", 90000 + settings.rank_size + 4)
    assert len(board.rows) == settings.rank_size
    assert board.mine == (settings.rank_size + 5, 100 - settings.rank_size - 4,
                          settings.rank_size + 5)


async def test_week_starts_monday_in_shanghai_time(world, clock):
    svc, b = world.svc, world.branch_id
    clock.set(datetime(2026, 11, 29, 23, 59, tzinfo=TZ))  # Sunday night, Shanghai
    await award(world, WISHER, 5)
    clock.set(datetime(2026, 11, 30, 0, 30, tzinfo=TZ))  # Monday 00:30 = Sunday 16:30 UTC
    await award(world, HELPER, 3)
    week = await svc.points.board(b, "周", WISHER)
    assert week.rows == [(1, HELPER, 3)] and week.mine is None
    clock.set(datetime(2026, 12, 6, 23, 59, tzinfo=TZ))  # still the same week on Sunday
    assert (await svc.points.board(b, "周", HELPER)).rows == [(1, HELPER, 3)]
    clock.set(datetime(2026, 12, 7, 0, 0, tzinfo=TZ))  # a new week: empty board
    assert (await svc.points.board(b, "周", HELPER)).rows == []


async def test_month_edge_in_shanghai_time(world, clock):
    svc, b = world.svc, world.branch_id
    clock.set(datetime(2026, 11, 30, 23, 59, tzinfo=TZ))
    await award(world, WISHER, 5)
    clock.set(datetime(2026, 12, 1, 0, 0, tzinfo=TZ))  # 11-30 16:00 UTC, but December here
    await award(world, HELPER, 2)
    assert (await svc.points.board(b, "月", HELPER)).rows == [(1, HELPER, 2)]
    assert [r[1] for r in (await svc.points.board(b, "总", HELPER)).rows] == [WISHER, HELPER]


async def test_adjust_bounds_reason_and_permission(world, settings):
    svc, b = world.svc, world.branch_id
    bound = settings.points_adjust_max
    with pytest.raises(Forbidden):
        await svc.points.adjust(b, Actor(HELPER), WISHER, 5, "表现好")
    for bad in (0, bound + 1, -bound - 1):
        with pytest.raises(DomainError, match=f"-{bound} 到 \\+{bound}"):
            await svc.points.adjust(b, world.secretary, WISHER, bad, "原因")
    with pytest.raises(DomainError, match="调整原因不能为空"):
        await svc.points.adjust(b, world.secretary, WISHER, 5, " ")
    entry = await svc.points.adjust(b, world.secretary, WISHER, bound, "组织活动")
    assert (entry.category, entry.delta, entry.operator_id) == ("奖惩", bound, SECRETARY)
    minus = await svc.points.adjust(b, world.secretary, WISHER, -bound, "缺席")
    assert minus.delta == -bound
    assert (await svc.points.summary(b, WISHER)).total == 0


async def test_reversal_rules(world):
    svc, b = world.svc, world.branch_id
    entry = await svc.points.adjust(b, world.secretary, WISHER, 8, "志愿服务")
    with pytest.raises(Forbidden):
        await svc.points.reverse(b, Actor(HELPER), entry.id, None)
    reversal = await svc.points.reverse(b, world.secretary, entry.id, "记错人")
    assert (reversal.delta, reversal.reverses_id, reversal.operator_id) == (-8, entry.id,
                                                                            SECRETARY)
    assert "撤销 #" in reversal.reason and "记错人" in reversal.reason
    assert (await svc.points.summary(b, WISHER)).total == 0
    with pytest.raises(DomainError, match="已经撤销过"):
        await svc.points.reverse(b, world.secretary, entry.id, None)
    with pytest.raises(DomainError, match="本身是撤销记录"):
        await svc.points.reverse(b, world.secretary, reversal.id, None)
    with pytest.raises(NotFound):
        await svc.points.reverse(b, world.secretary, 99999, None)
    other = await svc.branches.branch_for_group(5002)
    with pytest.raises(NotFound):
        await svc.points.reverse(other.id, Actor(1, is_superuser=True), entry.id, None)


async def test_reversal_after_a_new_term_corrects_the_old_term(world, clock):
    svc, b = world.svc, world.branch_id
    old_term = await svc.branches.current_term(b)
    entry = await svc.points.adjust(b, world.secretary, WISHER, 6, "旧学期")
    clock.advance(days=1)
    new_term = await svc.branches.start_term(b, world.secretary, "2026-2027学年第二学期")
    assert new_term.id != old_term.id
    assert (await svc.points.summary(b, WISHER)).total == 0  # a fresh board
    reversal = await svc.points.reverse(b, world.secretary, entry.id, None)
    assert reversal.term_id == old_term.id
    totals = await svc.points.ledger.period_totals(b, f"term:{old_term.id}")
    assert totals[WISHER] == 0


async def test_terms(world):
    svc, b = world.svc, world.branch_id
    with pytest.raises(Forbidden):
        await svc.branches.start_term(b, Actor(HELPER), "新学期")
    first = await svc.branches.current_term(b)
    await award(world, WISHER, 4)
    new = await svc.branches.start_term(b, world.secretary, "2027春")
    assert (await svc.branches.current_term(b)).id == new.id
    with pytest.raises(DomainError, match="已经有"):
        await svc.branches.start_term(b, world.secretary, "2027春")
    assert (await svc.branches.find_term(b, first.name)).id == first.id
    assert (await svc.branches.find_term(b, f"#{new.id}")).id == new.id
    with pytest.raises(NotFound):
        await svc.branches.find_term(b, "不存在")
    assert (await svc.points.board(b, "学期", WISHER)).rows == []
    assert (await svc.points.board(b, "总", WISHER)).rows == [(1, WISHER, 4)]


async def make_eligible(world, count):
    svc, b = world.svc, world.branch_id
    people = list(range(60000, 60000 + count))
    for i, uid in enumerate(people):
        await svc.branches.register(b, uid, f"党员{i}", "5楼", None)
        await svc.branches.set_role(b, ADMIN, uid, "正式党员")
        await award(world, uid, 100 - i * 10)
    return people


async def test_pairing_with_an_odd_count(world):
    svc, b = world.svc, world.branch_id
    # eligible: HELPER (0 pts), HELPER2 (0 pts) and 3 more → 5 members
    people = await make_eligible(world, 3)
    pairs = await svc.points.pair(b, world.secretary, 2)
    assert [(p.helper_id, p.helped_id) for p in pairs] == [(people[0], HELPER2),
                                                          (people[1], HELPER)]
    assert all(p.helper_id != p.helped_id for p in pairs)
    assert await svc.points.partner(b, people[0]) == (HELPER2, True)
    assert await svc.points.partner(b, HELPER2) == (people[0], False)
    assert await svc.points.partner(b, people[2]) is None  # the middle one is not paired
    with pytest.raises(DomainError, match="最多结 2 对"):
        await svc.points.pair(b, world.secretary, 3)


async def test_pairing_refusals(world):
    svc, b = world.svc, world.branch_id
    with pytest.raises(Forbidden):
        await svc.points.pair(b, Actor(HELPER), 1)
    await svc.branches.remove(b, world.secretary, HELPER2)
    with pytest.raises(DomainError, match="不足 2 人"):
        await svc.points.pair(b, world.secretary, 1)


async def test_weekly_commendation(world, settings):
    svc = world.svc
    assert await svc.points.queue_commendations() == 0  # nobody has points: nothing sent
    for uid, pts in ((WISHER, 9), (HELPER, 9), (HELPER2, 4), (MASSES, 1)):
        await award(world, uid, pts)
    assert await svc.points.queue_commendations() == 1
    assert await svc.points.queue_commendations() == 0  # once a week
    [row] = await svc.outbox.repo.all()
    assert "第 1 名 许愿人 9 分" in row[5] and "第 1 名 助人者 9 分" in row[5]
    assert "第 3 名 助人者二 4 分" in row[5] and "群众甲" not in row[5]
    settings.commend_enabled = False
    assert await svc.points.queue_commendations() == 0


async def test_weekly_commendation_lists_everyone_tied_for_the_last_place(world):
    svc = world.svc
    for uid, pts in ((WISHER, 9), (HELPER, 7), (HELPER2, 5), (MASSES, 5), (SECRETARY, 1)):
        await award(world, uid, pts)
    assert await svc.points.queue_commendations() == 1
    [row] = await svc.outbox.repo.all()
    assert "第 3 名 助人者二 5 分" in row[5] and "第 3 名 群众甲 5 分" in row[5]
    assert "书记" not in row[5]


async def test_board_lists_everyone_tied_at_its_last_place(world, settings):
    svc, b = world.svc, world.branch_id
    settings.rank_size = 2
    for uid, pts in ((WISHER, 9), (HELPER, 5), (HELPER2, 5), (MASSES, 5), (SECRETARY, 1)):
        await award(world, uid, pts)
    board = await svc.points.board(b, "学期", SECRETARY)
    assert board.rows == [(1, WISHER, 9), (2, HELPER, 5), (2, HELPER2, 5), (2, MASSES, 5)]
    assert board.mine == (5, 1, 5)
    await svc.branches.remove(b, world.secretary, HELPER2)  # off the board, and off the cut
    board = await svc.points.board(b, "学期", WISHER)
    assert board.rows == [(1, WISHER, 9), (2, HELPER, 5), (2, MASSES, 5)]
