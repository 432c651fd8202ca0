"""民情收集站: every transition and refusal, races, windows, overdue edges, points, privacy and
the report figures on a hand-counted fixture."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from config import BranchConfig
from domain.branches import Actor
from domain.errors import DomainError, Forbidden, NotFound
from domain.models import ProblemState
from domain.problems import (
    ANONYMOUS_NAME,
    GROUP,
    Viewer,
    can_see_content,
    content_for,
    reporter_for,
    split_branch_word,
    split_category,
)
from tests.conftest import TZ
from tests.domain.conftest import HELPER, HELPER2, MASSES, SECRETARY, WISHER

S = ProblemState
GROUP_ID = 5001
SECRET = "宿舍隔壁深夜吵闹让我失眠"  # the content of a privately raised problem
ROOT = Actor(1, is_superuser=True)


async def raise_(world, text="报修 宿舍灯坏了", *, reporter=MASSES, group_id=GROUP_ID,
                 anonymous=False):
    return await world.svc.problems.raise_problem(world.branch_id, group_id, reporter, text,
                                                  anonymous)


async def taken(world, text="报修 宿舍灯坏了", handler=HELPER, **kw):
    problem = await raise_(world, text, **kw)
    return await world.svc.problems.take_on(world.branch_id, problem.id, Actor(handler))


async def solved(world, text="报修 宿舍灯坏了", handler=HELPER, **kw):
    problem = await taken(world, text, handler, **kw)
    return await world.svc.problems.solve(world.branch_id, problem.id, Actor(handler), "已修好")


async def group_texts(svc) -> list[str]:
    rows = await svc.db.fetchall("SELECT segments FROM outbox WHERE target_type = 'group'")
    return [json.dumps(json.loads(r[0]), ensure_ascii=False) for r in rows]


async def private_rows(svc, kind: str = "%") -> list[tuple[int, str]]:
    rows = await svc.db.fetchall(
        "SELECT target_id, segments FROM outbox WHERE target_type = 'private' AND kind LIKE ? "
        "ORDER BY id", (kind,))
    return [(r[0], "".join(s["data"].get("text", "") for s in json.loads(r[1]))) for r in rows]


# raising ---------------------------------------------------------------------------------


async def test_raise_takes_a_known_first_word_as_category(world):
    first = await raise_(world, "报修 宿舍灯坏了")
    assert (first.category, first.content, first.state) == ("报修", "宿舍灯坏了", S.PENDING)
    assert not first.private and first.group_id == GROUP_ID and first.reporter_id == MASSES
    other = await raise_(world, "食堂 饭菜太咸")
    assert (other.category, other.content) == ("其他", "食堂 饭菜太咸")
    assert other.id == first.id + 1
    private = await raise_(world, f"心理 {SECRET}", group_id=None, anonymous=True)
    assert private.private and private.anonymous and private.group_id is None
    events = await world.svc.problems.history(private)
    assert [(e.action, e.actor_id) for e in events] == [("反映", MASSES)]


@pytest.mark.parametrize("text, message", [("", "不能为空"), ("报修", "不能为空"),
                                           ("长" * 501, "最多 500 字")])
async def test_raise_refuses_empty_or_too_long_and_writes_nothing(world, text, message):
    with pytest.raises(DomainError, match=message):
        await raise_(world, text)
    assert (await world.svc.problems.list_page(world.branch_id, "全部")).total == 0


def test_split_helpers():
    cats = ["报修", "学业", "其他"]
    assert split_category("  学业  挂科了怎么办 ", cats) == ("学业", "挂科了怎么办")
    assert split_category("学业挂科", cats) == ("其他", "学业挂科")
    assert split_branch_word("支部#2 报修 灯坏了") == (2, "报修 灯坏了")
    assert split_branch_word("支部 ＃3 x") == (3, "x")
    assert split_branch_word("报修 灯坏了") == (None, "报修 灯坏了")


async def test_private_submission_branch(world, svc):
    problems = svc.problems
    with pytest.raises(DomainError, match="还没有在任何支部登记"):
        await problems.branch_for_private(999)
    assert (await problems.branch_for_private(MASSES)).id == world.branch_id
    other = await svc.branches.branch_for_group(5002)
    await svc.branches.register(other.id, MASSES, "群众甲", None, None)
    with pytest.raises(DomainError, match=f"支部#{world.branch_id}"):
        await problems.branch_for_private(MASSES)
    assert (await problems.branch_for_private(MASSES, other.id)).id == other.id
    with pytest.raises(NotFound):
        await problems.branch_for_private(MASSES, 99)


# the loop, points --------------------------------------------------------------------------


async def test_full_loop_books_points_once(world, settings):
    svc, b = world.svc, world.branch_id
    problem = await raise_(world)
    taken_on = await svc.problems.take_on(b, problem.id, Actor(HELPER))
    assert taken_on.state is S.IN_PROGRESS and taken_on.handler_id == HELPER
    assert taken_on.taken_at is not None
    noted = await svc.problems.progress(b, problem.id, Actor(HELPER), "已联系宿管")
    assert noted.state is S.IN_PROGRESS
    fixed = await svc.problems.solve(b, problem.id, Actor(HELPER), "换了灯管")
    assert fixed.state is S.SOLVED and fixed.solution == "换了灯管" and fixed.solved_at
    done = await svc.problems.confirm(b, problem.id, MASSES, 5, "很快")
    assert done.problem.state is S.DONE and done.problem.rating == 5 and done.problem.done_at
    assert done.points == settings.points_problem_solved == 3
    summary = await svc.points.summary(b, HELPER)
    assert summary.total == 3 and summary.breakdown == {"服务": 3}
    with pytest.raises(DomainError, match="已办结"):
        await svc.problems.confirm(b, problem.id, MASSES, 5, None)
    assert (await svc.points.summary(b, HELPER)).total == 3
    actions = [e.action for e in await svc.problems.history(done.problem)]
    assert actions == ["反映", "受理", "进展", "解决", "确认"]
    refs = await svc.db.fetchall("SELECT ref FROM ledger WHERE user_id = ?", (HELPER,))
    assert [r[0] for r in refs] == [f"problem:{problem.id}:done"]


@pytest.mark.parametrize("score, points", [(1, 0), (2, 0), (3, 3), (4, 3)])
async def test_points_only_for_a_rating_of_three_or_more(world, score, points):
    problem = await solved(world)
    done = await world.svc.problems.confirm(world.branch_id, problem.id, MASSES, score, None)
    assert done.points == points
    assert (await world.svc.points.summary(world.branch_id, HELPER)).total == points


async def test_confirm_refusals(world):
    svc, b = world.svc, world.branch_id
    problem = await taken(world)
    with pytest.raises(DomainError, match="处理中"):
        await svc.problems.confirm(b, problem.id, MASSES, 5, None)  # not solved yet
    await svc.problems.solve(b, problem.id, Actor(HELPER), "好了")
    with pytest.raises(Forbidden, match="只有反映人"):
        await svc.problems.confirm(b, problem.id, HELPER, 5, None)
    with pytest.raises(Forbidden, match="只有反映人"):
        await svc.problems.confirm(b, problem.id, SECRETARY, 5, None)
    for score in (0, 6):
        with pytest.raises(DomainError, match="1 到 5"):
            await svc.problems.confirm(b, problem.id, MASSES, score, None)
    with pytest.raises(DomainError, match="最多 100 字"):
        await svc.problems.confirm(b, problem.id, MASSES, 5, "长" * 101)
    assert (await svc.problems.get(b, problem.id)).state is S.SOLVED


# taking on ---------------------------------------------------------------------------------


async def test_take_on_refusals_and_assignment(world):
    svc, b = world.svc, world.branch_id
    problem = await raise_(world)
    with pytest.raises(Forbidden, match="处理民情需要身份"):
        await svc.problems.take_on(b, problem.id, Actor(WISHER))  # 群众
    with pytest.raises(Forbidden, match="登记"):
        await svc.problems.take_on(b, problem.id, Actor(999))
    with pytest.raises(Forbidden, match="指派处理人"):
        await svc.problems.take_on(b, problem.id, Actor(HELPER), HELPER2)  # not an admin
    own = await raise_(world, "学业 想转专业", reporter=HELPER)
    with pytest.raises(DomainError, match="自己"):
        await svc.problems.take_on(b, own.id, Actor(HELPER))
    with pytest.raises(DomainError, match="反映人"):
        await svc.problems.take_on(b, own.id, world.secretary, HELPER)
    with pytest.raises(Forbidden, match="许愿人目前是群众"):
        await svc.problems.take_on(b, problem.id, world.secretary, WISHER)
    with pytest.raises(NotFound, match="没有在本支部登记"):
        await svc.problems.take_on(b, problem.id, world.secretary, 999)
    assigned = await svc.problems.take_on(b, problem.id, world.secretary, HELPER2)
    assert assigned.state is S.IN_PROGRESS and assigned.handler_id == HELPER2
    [_, event] = await svc.problems.history(assigned)
    assert (event.action, event.actor_id, event.target_id) == ("受理", SECRETARY, HELPER2)
    with pytest.raises(DomainError, match="处理中，不能受理"):
        await svc.problems.take_on(b, problem.id, Actor(HELPER))
    # an admin (group owner, no profile) may take one on themself
    third = await raise_(world, "生活 热水不热")
    owner = Actor(1, is_group_admin=True)
    assert (await svc.problems.take_on(b, third.id, owner)).handler_id == 1


async def test_private_problem_is_assigned_by_admins_only(world):
    svc, b = world.svc, world.branch_id
    problem = await raise_(world, f"心理 {SECRET}", group_id=None)
    with pytest.raises(Forbidden, match="私下反映"):
        await svc.problems.take_on(b, problem.id, Actor(HELPER))
    assert (await svc.problems.take_on(b, problem.id, world.secretary, HELPER)).handler_id \
        == HELPER


async def test_take_on_race_has_exactly_one_winner(world):
    svc, b = world.svc, world.branch_id
    owner = Actor(1, is_group_admin=True)
    racers = list(range(3000, 3030))
    for uid in racers:
        await svc.branches.register(b, uid, f"党员{uid}", None, None)
        await svc.branches.set_role(b, owner, uid, "预备党员")
    problem = await raise_(world)
    results = await asyncio.gather(
        *(svc.problems.take_on(b, problem.id, Actor(uid)) for uid in racers),
        svc.problems.take_on(b, problem.id, world.secretary, HELPER),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, DomainError)]
    assert len(winners) == 1 and len(losers) == len(racers)
    final = await svc.problems.get(b, problem.id)
    assert final.handler_id == winners[0].handler_id and final.state is S.IN_PROGRESS
    assert [e.action for e in await svc.problems.history(final)].count("受理") == 1


# progress, solve, reopen, confirm window -------------------------------------------------


async def test_progress_and_solve_only_by_handler_or_admin(world):
    svc, b = world.svc, world.branch_id
    problem = await raise_(world)
    with pytest.raises(Forbidden, match="只有处理人或支委"):
        await svc.problems.solve(b, problem.id, Actor(HELPER), "x")
    with pytest.raises(DomainError, match="待受理，不能报告进展"):
        await svc.problems.progress(b, problem.id, world.secretary, "x")
    await svc.problems.take_on(b, problem.id, Actor(HELPER))
    for actor in (Actor(HELPER2), Actor(MASSES)):
        with pytest.raises(Forbidden):
            await svc.problems.progress(b, problem.id, actor, "x")
        with pytest.raises(Forbidden):
            await svc.problems.solve(b, problem.id, actor, "x")
    with pytest.raises(DomainError, match="不能为空"):
        await svc.problems.solve(b, problem.id, Actor(HELPER), " ")
    await svc.problems.progress(b, problem.id, world.secretary, "支委跟进中")
    fixed = await svc.problems.solve(b, problem.id, world.secretary, "支委协调修好")
    assert fixed.state is S.SOLVED and fixed.handler_id == HELPER  # the handler keeps it
    with pytest.raises(DomainError, match="已解决，不能标记解决"):
        await svc.problems.solve(b, problem.id, Actor(HELPER), "again")


async def test_reopen_within_the_window_then_solve_again(world, clock, settings):
    svc, b = world.svc, world.branch_id
    problem = await solved(world)
    with pytest.raises(Forbidden, match="只有反映人"):
        await svc.problems.reopen(b, problem.id, HELPER, "没修好")
    with pytest.raises(DomainError, match="不能为空"):
        await svc.problems.reopen(b, problem.id, MASSES, "")
    clock.advance(days=settings.problem_confirm_days, seconds=-1)
    again = await svc.problems.reopen(b, problem.id, MASSES, "灯又坏了")
    assert again.state is S.IN_PROGRESS and again.handler_id == HELPER
    assert again.reopen_count == 1 and again.solved_at is None and again.solution is None
    assert again.taken_at == problem.taken_at  # the first response stays
    with pytest.raises(DomainError, match="处理中，不能重开"):
        await svc.problems.reopen(b, problem.id, MASSES, "x")
    fixed = await svc.problems.solve(b, problem.id, Actor(HELPER), "换了镇流器")
    done = await svc.problems.confirm(b, problem.id, MASSES, 4, None)
    assert done.problem.reopen_count == 1 and done.problem.solved_at == fixed.solved_at
    assert [e.action for e in await svc.problems.history(done.problem)] == [
        "反映", "受理", "解决", "重开", "解决", "确认"]
    assert (await svc.points.summary(b, HELPER)).total == 3


async def test_reopen_refused_once_the_window_has_passed(world, clock, settings):
    svc, b = world.svc, world.branch_id
    problem = await solved(world)
    clock.advance(days=settings.problem_confirm_days)
    with pytest.raises(DomainError, match=f"超过 {settings.problem_confirm_days} 天"):
        await svc.problems.reopen(b, problem.id, MASSES, "灯又坏了")
    # confirming late is still accepted while nobody has auto-confirmed it
    assert (await svc.problems.confirm(b, problem.id, MASSES, 5, None)).points == 3


async def test_auto_confirm_after_the_window(world, clock, settings):
    svc, b = world.svc, world.branch_id
    problem = await solved(world)
    reopened = await solved(world, "学业 选课系统进不去")
    clock.advance(days=1)
    await svc.problems.reopen(b, reopened.id, MASSES, "还是进不去")
    clock.advance(days=settings.problem_confirm_days - 1, seconds=-1)
    assert await svc.problems.auto_confirm_due() == []
    clock.advance(seconds=1)
    [done] = await svc.problems.auto_confirm_due()
    assert done.problem.id == problem.id and done.problem.state is S.DONE
    assert done.problem.auto_confirmed and done.problem.rating is None
    assert done.points == settings.points_problem_solved
    assert await svc.problems.auto_confirm_due() == []
    assert (await svc.problems.get(b, reopened.id)).state is S.IN_PROGRESS
    history = await svc.problems.history(done.problem)
    assert (history[-1].action, history[-1].actor_id) == ("自动办结", None)
    assert (await svc.points.summary(b, HELPER)).total == 3
    with pytest.raises(DomainError, match="已办结"):
        await svc.problems.reopen(b, problem.id, MASSES, "x")


# reassign, escalate, close -------------------------------------------------------------------


async def test_reassign_is_admin_only_and_moves_the_points(world):
    svc, b = world.svc, world.branch_id
    problem = await raise_(world)
    with pytest.raises(DomainError, match="还没有受理"):
        await svc.problems.reassign(b, problem.id, world.secretary, HELPER2)
    await svc.problems.take_on(b, problem.id, Actor(HELPER))
    with pytest.raises(Forbidden):
        await svc.problems.reassign(b, problem.id, Actor(HELPER), HELPER2)
    with pytest.raises(DomainError, match="已经是"):
        await svc.problems.reassign(b, problem.id, world.secretary, HELPER)
    with pytest.raises(Forbidden, match="目前是群众"):
        await svc.problems.reassign(b, problem.id, world.secretary, WISHER)
    moved = await svc.problems.reassign(b, problem.id, world.secretary, HELPER2)
    assert moved.state is S.IN_PROGRESS and moved.handler_id == HELPER2
    with pytest.raises(Forbidden):
        await svc.problems.solve(b, problem.id, Actor(HELPER), "x")  # no longer the handler
    await svc.problems.solve(b, problem.id, Actor(HELPER2), "修好了")
    await svc.problems.confirm(b, problem.id, MASSES, 5, None)
    assert (await svc.points.summary(b, HELPER2)).total == 3
    assert (await svc.points.summary(b, HELPER)).total == 0
    event = (await svc.problems.history(moved))[2]
    assert (event.action, event.target_id) == ("转办", HELPER2)


async def test_escalate_waits_for_a_result_recorded_by_solve(world, clock):
    svc, b = world.svc, world.branch_id
    problem = await raise_(world, "报修 楼道水管漏水")
    with pytest.raises(Forbidden):
        await svc.problems.escalate(b, problem.id, Actor(HELPER), "后勤")
    with pytest.raises(DomainError, match="上报去向不能为空"):
        await svc.problems.escalate(b, problem.id, world.secretary, "")
    clock.advance(hours=2)
    up = await svc.problems.escalate(b, problem.id, world.secretary, "后勤报修中心")
    assert up.state is S.ESCALATED and up.escalated_to == "后勤报修中心"
    assert up.taken_at == up.escalated_at == problem.raised_at + 7200  # the first response
    assert up.handler_id is None
    with pytest.raises(DomainError, match="已上报，不能上报"):
        await svc.problems.escalate(b, problem.id, world.secretary, "学院")
    await svc.problems.progress(b, problem.id, world.secretary, "后勤说明天来")
    assert (await svc.problems.get(b, problem.id)).state is S.ESCALATED
    clock.advance(hours=20)
    fixed = await svc.problems.solve(b, problem.id, world.secretary, "后勤已修好")
    assert fixed.state is S.SOLVED and fixed.handler_id == SECRETARY
    await svc.problems.confirm(b, problem.id, MASSES, 5, None)
    assert (await svc.points.summary(b, SECRETARY)).total == 3
    # escalating a problem being worked on keeps its handler and first response
    other = await taken(world, "生活 宿舍漏雨")
    clock.advance(hours=1)
    up = await svc.problems.escalate(b, other.id, world.secretary, "物业")
    assert up.handler_id == HELPER and up.taken_at == other.taken_at
    moved = await svc.problems.reassign(b, other.id, world.secretary, HELPER2)
    assert moved.state is S.ESCALATED and moved.handler_id == HELPER2


async def test_close_is_admin_only_needs_a_reason_and_books_nothing(world):
    svc, b = world.svc, world.branch_id
    problem = await solved(world)
    with pytest.raises(Forbidden):
        await svc.problems.close(b, problem.id, Actor(HELPER), "重复")
    with pytest.raises(DomainError, match="关闭原因不能为空"):
        await svc.problems.close(b, problem.id, world.secretary, "")
    closed = await svc.problems.close(b, problem.id, world.secretary, "与 #1 重复")
    assert closed.state is S.CLOSED and closed.close_reason == "与 #1 重复" and closed.closed_at
    with pytest.raises(DomainError, match="已经已关闭"):
        await svc.problems.close(b, problem.id, world.secretary, "x")
    with pytest.raises(DomainError, match="已关闭"):
        await svc.problems.confirm(b, problem.id, MASSES, 5, None)
    pending = await raise_(world, "生活 与支部无关的事")
    assert (await svc.problems.close(b, pending.id, world.secretary, "非支部事务")).state \
        is S.CLOSED
    assert await svc.problems.auto_confirm_due() == []
    assert (await svc.points.summary(b, HELPER)).total == 0


async def test_problem_of_another_branch_is_not_found(world, svc):
    problem = await raise_(world)
    other = await svc.branches.branch_for_group(5002)
    with pytest.raises(NotFound, match=f"^没有找到民情 #{problem.id}。$"):
        await svc.problems.get(other.id, problem.id)
    with pytest.raises(NotFound):
        await svc.problems.take_on(other.id, problem.id, Actor(1, is_group_admin=True))
    with pytest.raises(NotFound):
        await svc.problems.close(other.id, problem.id, Actor(1, is_group_admin=True), "x")
    assert (await svc.problems.list_page(other.id, "全部")).total == 0


async def test_private_chat_finds_a_problem_only_for_those_involved(world, svc):
    """In a private chat the number names the problem: its reporter, its handler, an admin
    (superuser or 支委/书记) or a member of its branch find it; anyone else is told "not found"."""
    problem = await raise_(world, f"心理 {SECRET}", group_id=None, reporter=WISHER)
    await svc.problems.take_on(world.branch_id, problem.id, world.secretary, HELPER)
    other = await svc.branches.branch_for_group(5002)
    await svc.branches.register(other.id, 9001, "外支部", None, None)
    for actor in (Actor(WISHER), Actor(HELPER), world.secretary, Actor(MASSES), ROOT):
        assert (await svc.problems.find_for(problem.id, actor)).id == problem.id
    for actor in (Actor(9001), Actor(9002)):  # a private chat has no QQ group role
        with pytest.raises(NotFound, match=f"^没有找到民情 #{problem.id}。$"):
            await svc.problems.find_for(problem.id, actor)
    with pytest.raises(NotFound):
        await svc.problems.find_for(problem.id + 1, ROOT)


async def test_a_private_problem_is_sent_to_the_committee_privately(world, svc):
    public = await raise_(world, "报修 灯坏了")
    assert await private_rows(svc) == []  # the group saw it already
    problem = await raise_(world, f"心理 {SECRET}", group_id=None, anonymous=True)
    # queued with the problem, in the same transaction; once per problem
    assert await svc.problems.notify_new_private(problem) == 0
    assert await svc.problems.notify_new_private(public) == 0
    [(user, text)] = await private_rows(svc)
    assert user == SECRETARY and SECRET in text and "反映人：群众甲（匿名）" in text
    assert await group_texts(svc) == []


# lists -------------------------------------------------------------------------------------


async def test_list_filters_and_pages(world, settings):
    svc, b = world.svc, world.branch_id
    ids = [(await raise_(world, f"学业 问题{i}")).id for i in range(settings.page_size + 2)]
    repair = await raise_(world, "报修 灯")
    await svc.problems.take_on(b, repair.id, Actor(HELPER))
    await svc.problems.close(b, ids[0], world.secretary, "重复")
    first = await svc.problems.list_page(b)
    assert (first.total, first.pages, first.label) == (settings.page_size + 2, 2, "未办结")
    assert [p.id for p in first.problems] == ids[1:settings.page_size + 1]
    second = await svc.problems.list_page(b, None, 2)
    assert [p.id for p in second.problems] == [ids[-1], repair.id]
    with pytest.raises(DomainError, match="只有 2 页"):
        await svc.problems.list_page(b, None, 3)
    assert [p.id for p in (await svc.problems.list_page(b, "处理中")).problems] == [repair.id]
    assert [p.id for p in (await svc.problems.list_page(b, "报修")).problems] == [repair.id]
    assert [p.id for p in (await svc.problems.list_page(b, "已关闭")).problems] == [ids[0]]
    assert (await svc.problems.list_page(b, "全部")).total == len(ids) + 1
    with pytest.raises(DomainError, match="没有「天气」这个状态或分类"):
        await svc.problems.list_page(b, "天气")
    mine, handling = await svc.problems.mine(b, HELPER)
    assert mine == [] and [p.id for p in handling] == [repair.id]


async def test_problem_list_oldest_first_and_solved_this_week(world, clock):
    svc, b = world.svc, world.branch_id
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))  # a Monday
    old = await raise_(world, "学业 最早的")
    clock.advance(hours=1)
    newer = await taken(world, "生活 后来的")
    fixed = await solved(world, "报修 修好的")
    clock.set(datetime(2026, 11, 29, 23, 0, tzinfo=TZ))  # Sunday of the same week
    plist = await svc.problems.problem_list(b)
    assert [p.id for p in plist.open] == [old.id, newer.id] and plist.open_total == 2
    assert [p.id for p in plist.solved] == [fixed.id] and plist.solved_total == 1
    assert plist.overdue == 2  # 学业 not taken on in 24 h; 生活 not solved in 72 h
    text = svc.problems.render_list(plist, GROUP)
    assert "未解决 2 个，其中超时 2 个" in text and "处理人 助人者" in text
    assert "本周已解决 1 个" in text
    clock.set(datetime(2026, 11, 30, 0, 0, tzinfo=TZ))  # the next Monday
    assert (await svc.problems.problem_list(b)).solved_total == 0


# overdue -----------------------------------------------------------------------------------


async def test_overdue_edges_per_category(world, clock):
    svc, b = world.svc, world.branch_id
    repair = await raise_(world, "报修 灯坏了")
    study = await raise_(world, "学业 选课")
    clock.advance(hours=12)
    assert await svc.problems.overdue(b) == []  # exactly at the target: not yet overdue
    clock.advance(seconds=1)
    [late] = await svc.problems.overdue(b)
    assert (late.problem.id, late.kind, late.target_hours) == (repair.id, "受理超时", 12)
    clock.advance(hours=12)
    assert [o.problem.id for o in await svc.problems.overdue(b)] == [repair.id, study.id]
    await svc.problems.take_on(b, repair.id, Actor(HELPER))
    assert [o.problem.id for o in await svc.problems.overdue(b)] == [study.id]
    await svc.problems.take_on(b, study.id, Actor(HELPER2))
    assert await svc.problems.overdue(b) == []
    clock.set(svc.clock.from_timestamp(repair.raised_at) + timedelta(hours=72))
    assert await svc.problems.overdue(b) == []
    clock.advance(seconds=1)
    assert [o.kind for o in await svc.problems.overdue(b)] == ["解决超时", "解决超时"]
    await svc.problems.solve(b, repair.id, Actor(HELPER), "修好了")
    assert [o.problem.id for o in await svc.problems.overdue(b)] == [study.id]


async def test_overdue_targets_are_configurable(tmp_path, clock):
    from domain.services import open_services

    settings = BranchConfig(problem_first_response_hours={"默认": 2},
                            problem_resolution_hours=5)
    svc = await open_services(settings, clock, str(tmp_path / "t.db"))
    try:
        b = (await svc.branches.branch_for_group(1)).id
        await svc.problems.raise_problem(b, 1, 7, "报修 灯坏了")
        clock.advance(hours=2, seconds=1)
        [late] = await svc.problems.overdue(b)
        assert (late.kind, late.target_hours) == ("受理超时", 2)
    finally:
        await svc.db.close()


async def test_overdue_reminders_to_handler_and_admins_once_a_day(world, clock, svc):
    b = world.branch_id
    assert (await svc.problems.queue_overdue_reminders()).total == 0
    assert await svc.db.fetchval("SELECT COUNT(*) FROM outbox") == 0
    repair = await taken(world, "报修 灯坏了")
    waiting = await raise_(world, f"心理 {SECRET}", group_id=None)
    clock.advance(hours=24)
    assert (await svc.problems.queue_overdue_reminders()).total == 0  # both within target
    clock.advance(seconds=1)
    queued = await svc.problems.queue_overdue_reminders()
    assert (queued.handlers, queued.admins) == (0, 1)  # only the pending one is late
    assert (await svc.problems.queue_overdue_reminders()).total == 0  # same day
    clock.advance(hours=48)
    queued = await svc.problems.queue_overdue_reminders()
    assert (queued.handlers, queued.admins) == (1, 1)
    rows = await private_rows(svc, "problem_overdue%")
    assert [uid for uid, _ in rows] == [SECRETARY, HELPER, SECRETARY]
    admin_line = rows[0][1]
    assert f"#{waiting.id}" in admin_line and "受理超时" in admin_line
    assert SECRET not in admin_line and SECRET not in rows[2][1]
    assert f"#{repair.id}" in rows[1][1] and "解决超时" in rows[1][1]
    assert f"#{waiting.id}" not in rows[1][1]
    assert "受理超时" in rows[2][1] and f"#{repair.id} 报修 解决超时" in rows[2][1]
    assert (await svc.problems.queue_overdue_reminders()).total == 0  # same day
    clock.advance(days=1)
    assert (await svc.problems.queue_overdue_reminders()).total == 2
    assert await group_texts(svc) == []
    await svc.problems.solve(b, repair.id, Actor(HELPER), "修好了")
    await svc.problems.close(b, waiting.id, world.secretary, "已线下沟通")
    clock.advance(days=1)
    assert (await svc.problems.queue_overdue_reminders()).total == 0


# weekly list -------------------------------------------------------------------------------


async def test_weekly_list_shows_content_only_of_public_problems(world, clock, svc, settings):
    b = world.branch_id
    assert await svc.problems.weekly_text(b) is None
    assert await svc.problems.queue_weekly() == 0
    public = await raise_(world, "报修 三楼饮水机坏了")
    anonymous = await raise_(world, "生活 有人在走廊抽烟", anonymous=True)
    private = await raise_(world, f"心理 {SECRET}", group_id=None)
    done = await solved(world, "学业 教室投影仪")
    clock.advance(days=2)
    text = await svc.problems.weekly_text(b)
    assert "未解决 3 个，近 7 天解决 1 个，超时 3 个" in text
    assert "三楼饮水机坏了" in text
    assert "有人在走廊抽烟" not in text and SECRET not in text
    assert f"#{anonymous.id}" in text and f"#{private.id}" in text and "匿名反映" in text
    assert f"#{done.id}" not in text and f"#{public.id}" in text
    assert await svc.problems.queue_weekly() == 1
    assert await svc.problems.queue_weekly() == 0  # once a week
    settings.problem_weekly_enabled = False
    clock.advance(days=7)
    assert await svc.problems.queue_weekly() == 0
    [row] = await group_texts(svc)
    assert SECRET not in row and "有人在走廊抽烟" not in row


# privacy -----------------------------------------------------------------------------------


def test_viewer_rules():
    from domain.models import Problem

    base = dict(id=1, branch_id=1, group_id=None, reporter_id=11, category="心理",
                content=SECRET, anonymous=False, private=True, state=S.IN_PROGRESS,
                handler_id=22, escalated_to=None, solution=None, close_reason=None, rating=None,
                rating_comment=None, auto_confirmed=False, reopen_count=0, raised_at=0,
                taken_at=1, escalated_at=None, solved_at=None, done_at=None, closed_at=None)
    private = Problem(**base)
    names = {11: "小明", 22: "处理人"}
    admin, handler, other, reporter = (Viewer(9, True), Viewer(22), Viewer(33), Viewer(11))
    assert [can_see_content(private, v) for v in (admin, handler, other, reporter, GROUP)] == [
        True, True, False, True, False]
    assert content_for(private, other) != SECRET
    assert [reporter_for(private, v, names) for v in (admin, handler, other, GROUP)] == [
        "小明", "小明", ANONYMOUS_NAME, ANONYMOUS_NAME]
    anon = Problem(**{**base, "anonymous": True, "private": False, "group_id": 5})
    assert [reporter_for(anon, v, names) for v in (admin, handler, other, reporter, GROUP)] == [
        "小明（匿名）", ANONYMOUS_NAME, ANONYMOUS_NAME, "小明（匿名）", ANONYMOUS_NAME]
    assert can_see_content(anon, other) and not can_see_content(anon, GROUP)
    public = Problem(**{**base, "private": False, "group_id": 5})
    assert reporter_for(public, GROUP, names) == "小明" and can_see_content(public, GROUP)
    # an admin's reply in a group is read by the whole group
    assert reporter_for(private, GROUP, names) == ANONYMOUS_NAME


async def test_private_content_never_reaches_a_group_message_or_info_log(world, clock, svc,
                                                                          caplog):
    caplog.set_level(logging.DEBUG)
    b = world.branch_id
    problem = await raise_(world, f"心理 {SECRET}", group_id=None, anonymous=True)
    steps = [
        ("受理", lambda: svc.problems.take_on(b, problem.id, world.secretary, HELPER),
         SECRETARY),
        ("转办", lambda: svc.problems.reassign(b, problem.id, world.secretary, HELPER2),
         SECRETARY),
        ("上报", lambda: svc.problems.escalate(b, problem.id, world.secretary, "心理中心"),
         SECRETARY),
        ("解决", lambda: svc.problems.solve(b, problem.id, Actor(HELPER2), "已约谈"), HELPER2),
        ("重开", lambda: svc.problems.reopen(b, problem.id, MASSES, "仍然失眠"), MASSES),
        ("解决", lambda: svc.problems.solve(b, problem.id, Actor(HELPER2), "已调宿"), HELPER2),
    ]
    for _action, step, _actor in steps:
        await step()  # each transition queues its notices itself
    await svc.problems.confirm(b, problem.id, MASSES, 5, None)
    await raise_(world, f"心理 {SECRET}又一次", group_id=None)
    clock.advance(days=3)
    await svc.problems.queue_overdue_reminders()
    await svc.problems.queue_weekly()
    await svc.outbox.to_branch(b, [{"type": "text", "data": {"text": "公告"}}], "announce")

    groups = await group_texts(svc)
    assert groups and all(SECRET not in g for g in groups)
    private = await private_rows(svc)
    to_handler = [t for uid, t in private if uid == HELPER2]
    assert any(SECRET in t for t in to_handler)  # the handler is told the content
    assert all(ANONYMOUS_NAME in t for t in to_handler if "反映人" in t)
    to_reporter = [t for uid, t in private if uid == MASSES]
    assert any("已解决" in t and "/民情 确认" in t for t in to_reporter)
    assert not [r for r in caplog.records if r.levelno >= logging.INFO
                and SECRET in r.getMessage()]


async def test_render_detail_hides_private_notes_from_the_group(world, svc):
    b = world.branch_id
    problem = await raise_(world, f"心理 {SECRET}", group_id=None)
    await svc.problems.take_on(b, problem.id, world.secretary, HELPER)
    await svc.problems.progress(b, problem.id, Actor(HELPER), "约了周三谈心")
    current = await svc.problems.get(b, problem.id)
    events = await svc.problems.history(current)
    names = await svc.problems.names_for(b, [current], events)
    public = svc.problems.render_detail(current, events, GROUP, names)
    assert SECRET not in public and "约了周三谈心" not in public and "群众甲" not in public
    assert "书记 受理 → 助人者" in public
    mine = svc.problems.render_detail(current, events, Viewer(HELPER), names)
    assert SECRET in mine and "约了周三谈心" in mine and "反映人：群众甲" in mine


# config ------------------------------------------------------------------------------------


def test_problem_settings_validation():
    s = BranchConfig(problem_first_response_hours='{"报修": 6, "默认": 20}',
                     problem_resolution_hours="48")
    assert s.problem_first_response_hours == {"报修": 6, "默认": 20}
    assert s.problem_resolution_hours == {"默认": 48}
    with pytest.raises(ValidationError):
        BranchConfig(problem_first_response_hours={"天气": 3, "默认": 24})
    with pytest.raises(ValidationError):
        BranchConfig(problem_resolution_hours={"报修": 3})
    with pytest.raises(ValidationError):
        BranchConfig(problem_categories=["报修", "学业"])


# report ------------------------------------------------------------------------------------


@pytest.fixture
async def two_terms(world, clock, svc):
    """Hand-counted 民情 figures over two terms (hours after each term's start).

    Term A (before): p1 报修 taken at 4 h, p2 学业 taken at 10 h, p3 报修 closed at 1 h
    unanswered → first responses [4, 10] (p3 closed, left out), median 7 h; 报修 median 4 h,
    学业 10 h.
    Term B (starts 24 h later, report read 112 h after its start):
      q1 报修 taken 2 h, solved 5 h, confirmed 5 → 已办结, rated, satisfied;
      q2 报修 taken 3 h, solved 30 h, confirmed 2 → 已办结, rated, not satisfied, no points;
      q3 学业 taken 30 h (> 24 h: overdue), solved 40 h, auto-confirmed at 112 h → 已办结;
      q4 生活 escalated 6 h, still 已上报 at 112 h (> 72 h: overdue);
      q5 心理 private, closed at 1 h (counted apart);
      q6 其他 still 待受理 at 112 h (> 24 h: overdue).
    collected 6, 已办结 3, 已关闭 1 → 问题解决率 3 / (6 − 1) = 60%; rated 2, ≥4 1 → 50%.
    first responses [2, 3, 6, 30] → median 4.5 h, p90 (nearest rank 4 of 4) 30 h;
    resolutions [5, 30, 40] → median 30 h, p90 (rank 3 of 3) 40 h; overdue 3.
    响应速度提升 (7 − 4.5) / 7 = 35.7%; 报修 2 个, median 2.5 h, (4 − 2.5) / 4 = 37.5%;
    学业 1 个, 30 h, (10 − 30) / 10 = −200%; 生活 1 个, 6 h, —; 心理 1, —; 其他 1, —.
    Points: HELPER 3 (q1) + 3 (q3 unrated) = 6, HELPER2 0.
    """
    b, p = world.branch_id, svc.problems
    sec = world.secretary
    start = clock.now()

    def at(hours: float) -> None:
        clock.set(start + timedelta(hours=hours))

    p1, p2, p3 = [await raise_(world, t) for t in ("报修 灯", "学业 选课", "报修 门锁")]
    at(1)
    await p.close(b, p3.id, sec, "重复")
    at(4)
    await p.take_on(b, p1.id, Actor(HELPER))
    at(10)
    await p.take_on(b, p2.id, Actor(HELPER2))
    at(24)
    await svc.branches.start_term(b, ROOT, "第二学期")
    start = clock.now()
    q = [await raise_(world, t, group_id=None if t.startswith("心理") else GROUP_ID)
         for t in ("报修 灯", "报修 水龙头", "学业 补考", "生活 洗衣机", "心理 压力", "其他 建议")]
    at(1)
    await p.close(b, q[4].id, sec, "已线下处理")
    at(2)
    await p.take_on(b, q[0].id, Actor(HELPER))
    at(3)
    await p.take_on(b, q[1].id, Actor(HELPER2))
    at(5)
    await p.solve(b, q[0].id, Actor(HELPER), "修好")
    await p.confirm(b, q[0].id, MASSES, 5, None)
    at(6)
    await p.escalate(b, q[3].id, sec, "后勤")
    at(30)
    await p.take_on(b, q[2].id, Actor(HELPER))
    await p.solve(b, q[1].id, Actor(HELPER2), "修好")
    await p.confirm(b, q[1].id, MASSES, 2, "太慢")
    at(40)
    await p.solve(b, q[2].id, Actor(HELPER), "已补考报名")
    at(112)
    assert len(await p.auto_confirm_due()) == 1
    return b


async def test_problem_figures_match_the_hand_count(svc, two_terms):
    report = await svc.reports.build(two_terms, ROOT)
    f = report.problems
    assert (f.collected, f.done, f.closed, f.rated, f.satisfied, f.overdue) == (6, 3, 1, 2, 1, 3)
    assert f.resolution_rate == 0.6 and f.satisfaction == 0.5
    assert sorted(f.first_response_hours) == [2, 3, 6, 30]
    assert (f.first_response_median, f.first_response_p90) == (4.5, 30)
    assert (f.resolution_median, f.resolution_p90) == (30, 40)
    assert f.previous_first_response_median == 7
    assert f.response_improvement == pytest.approx(2.5 / 7)
    cats = {c.category: c for c in f.categories}
    assert {k: c.collected for k, c in cats.items()} == {"报修": 2, "学业": 1, "生活": 1,
                                                         "心理": 1, "其他": 1}
    assert cats["报修"].response_improvement == 0.375
    assert cats["学业"].response_improvement == -2.0
    assert cats["生活"].response_improvement is None
    figures = dict(report.figures())
    assert figures["民情收集"] == "6 个" and figures["民情已办结"] == "3 个"
    assert figures["问题解决率"] == "60.0%（3/5）"
    assert figures["民情满意度"] == "50.0%（1/2 个评价 ≥4 分）"
    assert figures["首次响应用时"] == "中位 4.5 小时，90% 30.0 小时（4 个）"
    assert figures["解决用时"] == "中位 30.0 小时，90% 40.0 小时（3 个）"
    assert figures["民情超时"] == "3 个"
    assert figures["响应速度提升"] == "35.7%（首次响应中位 7.0 小时 → 4.5 小时）"
    assert figures["民情·报修"] == "2 个，首次响应中位 2.5 小时，响应速度提升 37.5%"
    assert figures["民情·学业"].endswith("响应速度提升 -200.0%")
    assert figures["民情·其他"] == "1 个，首次响应中位 —，响应速度提升 —"
    assert figures["满意度"].startswith("—")  # the wish figure is untouched
    assert (await svc.points.summary(two_terms, HELPER)).total == 6
    assert (await svc.points.summary(two_terms, HELPER2)).total == 0


async def test_previous_term_figures_have_no_earlier_term(svc, two_terms):
    terms = await svc.branches.terms(two_terms)
    report = await svc.reports.build(two_terms, ROOT, terms[0].name)
    f = report.problems
    assert (f.collected, f.done, f.closed) == (3, 0, 1)
    assert f.resolution_rate == 0.0 and f.first_response_median == 7
    assert f.response_improvement is None
    assert dict(report.figures())["响应速度提升"] == "—"
