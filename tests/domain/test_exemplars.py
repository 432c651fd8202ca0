"""微典型: the window, one nomination per person/field/term, review with private notices, a vote
on the poll machinery (anonymous), a tie settled by the committee, 公示 with 荣誉 points once,
cases, figures, and the showcase page's visitors counted once a day without addresses."""

import json
from datetime import datetime

import pytest

from domain.branches import Actor
from domain.errors import DomainError, Forbidden, NotFound
from domain.exemplars import DailySalt
from tests.conftest import TZ
from tests.domain.conftest import HELPER, HELPER2, MASSES, SECRETARY, WISHER

DEADLINE = datetime(2026, 11, 30, 20, 0, tzinfo=TZ)  # the clock starts at 11-27 20:00


async def add_people(world, count: int, first: int = 500000) -> list[int]:
    for i in range(count):
        await world.svc.branches.register(world.branch_id, first + i, f"同学{i}", "2楼", None)
    return [first + i for i in range(count)]


async def outbox(svc, kind):
    rows = await svc.db.fetchall("SELECT target_type, target_id, segments FROM outbox "
                                 "WHERE kind = ? ORDER BY id", (kind,))
    return [(r[0], r[1], json.loads(r[2])[0]["data"]["text"]) for r in rows]


async def test_the_window_and_one_nomination_per_person_field_and_term(world, clock):
    svc, b = world.svc, world.branch_id
    ex = svc.exemplars
    with pytest.raises(DomainError, match="还没有开始微典型征集"):
        await ex.nominate(b, WISHER, WISHER, "学业", "期末全优")
    with pytest.raises(Forbidden):
        await ex.open_call(b, 5001, Actor(MASSES), DEADLINE)
    await ex.open_call(b, 5001, world.secretary, DEADLINE)
    mine = await ex.nominate(b, WISHER, WISHER, "学业", "期末全优")
    assert (mine.self_nominated, mine.state, mine.field) == (True, "pending", "学业")
    with pytest.raises(DomainError, match="本学期已经有学业的推荐了"):
        await ex.nominate(b, HELPER, WISHER, "学业", "他很优秀")
    other = await ex.nominate(b, HELPER, WISHER, "服务", "常帮同学修电脑")
    assert not other.self_nominated
    with pytest.raises(DomainError, match="领域可以是：思想引领、学业、服务、实践、文体"):
        await ex.nominate(b, HELPER, WISHER, "体育", "跑得快")
    with pytest.raises(DomainError, match="不是本支部登记的成员"):
        await ex.nominate(b, HELPER, 99999, "学业", "陌生人")
    with pytest.raises(DomainError, match="请先发送 /登记"):
        await ex.nominate(b, 88888, HELPER, "学业", "我没登记")
    with pytest.raises(DomainError, match="事迹最多 300 字"):
        await ex.nominate(b, HELPER, HELPER2, "学业", "长" * 301)
    clock.set(DEADLINE)
    with pytest.raises(DomainError, match="征集已于 11-30 20:00 截止"):
        await ex.nominate(b, HELPER2, HELPER2, "实践", "支教")
    assert await svc.db.fetchval("SELECT COUNT(*) FROM exemplar_nominations") == 2


async def test_review_tells_both_privately_and_a_returned_one_may_come_again(world):
    svc, b = world.svc, world.branch_id
    ex = svc.exemplars
    await ex.open_call(b, 5001, world.secretary, DEADLINE)
    n = await ex.nominate(b, HELPER, WISHER, "学业", "期末全优")
    with pytest.raises(Forbidden):
        await ex.review(b, Actor(MASSES), n.id, True, None)
    with pytest.raises(DomainError, match="退回原因不能为空"):
        await ex.review(b, world.secretary, n.id, False, "")
    returned = await ex.review(b, world.secretary, n.id, False, "事迹太简单")
    assert (returned.state, returned.review_note) == ("returned", "事迹太简单")
    notices = await outbox(svc, "exemplar_review")
    assert [(t, u) for t, u, _ in notices] == [("private", WISHER), ("private", HELPER)]
    assert "被退回：事迹太简单" in notices[0][2] and "你推荐 许愿人" in notices[1][2]
    with pytest.raises(DomainError, match="已经已退回"):
        await ex.review(b, world.secretary, n.id, True, None)
    again = await ex.nominate(b, HELPER, WISHER, "学业", "期末全优，还获得了国家奖学金")
    approved = await ex.review(b, world.secretary, again.id, True, None)
    assert approved.state == "approved"
    with pytest.raises(NotFound):
        await ex.review(b + 1, Actor(SECRETARY, is_superuser=True), again.id, True, None)
    fallback = await svc.db.fetchval("SELECT fallback_segments FROM outbox WHERE kind = "
                                     "'exemplar_review' AND target_id = ?", (WISHER,))
    assert "/典型 我的" in fallback and "事迹太简单" not in fallback


async def nominate_and_approve(world, field, nominees):
    ex = world.svc.exemplars
    found = []
    for uid in nominees:
        n = await ex.nominate(world.branch_id, uid, uid, field, f"{uid} 的事迹")
        found.append(await ex.review(world.branch_id, world.secretary, n.id, True, None))
    return found


async def test_an_anonymous_vote_a_tie_the_committee_and_publicity_with_points(world, clock):
    svc, b = world.svc, world.branch_id
    ex = svc.exemplars
    await ex.open_call(b, 5001, world.secretary, DEADLINE)
    a, c, g = await nominate_and_approve(world, "学业", [WISHER, HELPER, HELPER2])
    (solo,) = await nominate_and_approve(world, "服务", [MASSES])
    pending = await ex.nominate(b, SECRETARY, SECRETARY, "实践", "支教")
    started = await ex.start_votes(b, 5001, world.secretary, None, None, anonymous=True)
    assert [f for f, _ in started.opened] == ["学业"]
    assert any("服务只有 1 位候选人 群众甲" in s for s in started.skipped)
    assert any("实践还有 1 个推荐待审核" in s for s in started.skipped)
    (_, poll), = started.opened
    assert poll.anonymous and poll.labels == ("许愿人 #1", "助人者 #2", "助人者二 #3")
    with pytest.raises(DomainError, match="学业已经开始评选"):
        await ex.nominate(b, SECRETARY, SECRETARY, "学业", "晚来的")
    voters = await add_people(world, 15)
    for voter, choice in zip(voters, [1] * 6 + [2] * 6 + [3] * 3, strict=True):
        await svc.polls.vote(poll.id, voter, (choice,), None)
    with pytest.raises(DomainError, match="还在投票"):
        await ex.settle(b, world.secretary, a.id)
    tally = await svc.polls.close(poll.id, world.secretary, b, 5001)
    assert tally.counts == (6, 6, 3)
    (tie,) = await outbox(svc, "exemplar_vote")
    assert "学业微典型评选平票（各 6 票）：#1 许愿人、#2 助人者" in tie[2]
    with pytest.raises(DomainError, match="不在平票的候选人中"):
        await ex.settle(b, world.secretary, g.id)
    with pytest.raises(Forbidden):
        await ex.settle(b, Actor(MASSES), a.id)
    settled = await ex.settle(b, world.secretary, a.id)
    assert (settled.state, settled.selected_by) == ("selected", SECRETARY)
    with pytest.raises(DomainError, match="已经选出"):
        await ex.settle(b, world.secretary, c.id)
    await ex.settle(b, world.secretary, solo.id)  # the only candidate of 服务
    done = await ex.publicise(b, world.secretary)
    assert [(x.nomination.field, x.name) for x in done.exemplars] == [("学业", "许愿人"),
                                                                     ("服务", "群众甲")]
    assert done.newly_booked == 2
    again = await ex.publicise(b, world.secretary)
    assert again.newly_booked == 0  # 公示 again: the points are not booked twice
    honours = await svc.db.fetchall("SELECT user_id, category, delta FROM ledger "
                                    "WHERE category = '荣誉' ORDER BY id")
    assert [tuple(r) for r in honours] == [(WISHER, "荣誉", 10), (MASSES, "荣誉", 10)]
    summary = await svc.points.summary(b, WISHER)
    assert summary.breakdown == {"荣誉": 10} and summary.total == 10
    overview = await svc.overview.of_member(b, WISHER)
    assert [f for _, f in overview.honours] == ["学业"]
    term = await svc.branches.current_term(b)
    figures = await ex.figures(b, term, term.started_at, clock.timestamp() + 1)
    by_field = {f.field: f for f in figures.fields}
    assert (by_field["学业"].self_nominated, by_field["学业"].approved,
            by_field["学业"].selected) == (3, 3, 1)
    assert (figures.total.nominations, figures.total.approved, figures.total.selected) == (
        5, 4, 2)
    assert pending.state == "pending"


async def test_a_vote_with_a_clear_winner_records_it_at_the_deadline(world, clock):
    svc, b = world.svc, world.branch_id
    ex = svc.exemplars
    await ex.open_call(b, 5001, world.secretary, DEADLINE)
    a, _ = await nominate_and_approve(world, "文体", [WISHER, HELPER])
    closes = datetime(2026, 11, 28, 20, 0, tzinfo=TZ)
    started = await ex.start_votes(b, 5001, world.secretary, "文体", closes, anonymous=False)
    (_, poll), = started.opened
    await svc.polls.vote(poll.id, MASSES, (1,), b)
    clock.set(closes)
    await svc.polls.close_due(poll.id)
    assert (await ex.get(b, a.id)).state == "selected"
    (posted,) = await outbox(svc, "exemplar_vote")
    assert "文体微典型评选结束：许愿人 当选（1 票）" in posted[2]
    with pytest.raises(DomainError, match="文体已经评选过了"):
        await ex.start_votes(b, 5001, world.secretary, "文体", None, anonymous=False)


async def test_cases_from_reviewed_stories_once_each(world):
    svc, b = world.svc, world.branch_id
    ex = svc.exemplars
    await ex.open_call(b, 5001, world.secretary, DEADLINE)
    n = await ex.nominate(b, HELPER, WISHER, "学业", "期末全优")
    with pytest.raises(DomainError, match="只有通过审核的事迹可以整理为案例"):
        await ex.add_case(b, world.secretary, n.id, "学霸之路", None, None)
    await ex.review(b, world.secretary, n.id, True, None)
    case = await ex.add_case(b, world.secretary, n.id, "学霸之路", None, None)
    assert (case.body, case.author_id, case.field, case.nominee_id) == (
        "期末全优", HELPER, "学业", WISHER)
    with pytest.raises(DomainError, match="已经整理成案例"):
        await ex.add_case(b, world.secretary, n.id, "再来", "正文", None)
    with pytest.raises(Forbidden):
        await ex.add_case(b, Actor(MASSES), n.id, "标题", None, None)
    found, names = await ex.cases(b)
    assert [c.title for c in found] == ["学霸之路"] and names[HELPER] == "助人者"


async def test_the_showcase_counts_visitors_once_a_day_and_a_closed_link_shows_nothing(world,
                                                                                      clock):
    svc, b = world.svc, world.branch_id
    ex = svc.exemplars
    page, new = await ex.page_link(b, world.secretary)
    assert new and (await ex.page_link(b, world.secretary)) == (page, False)  # stable
    with pytest.raises(Forbidden):
        await ex.page_link(b, Actor(MASSES))
    for _ in range(10):
        for visitor in ("甲浏览器", "乙浏览器", "丙浏览器"):
            shown = await ex.view(page.token, "203.0.113.9", visitor)
    assert shown.branch and shown.exemplars == []
    term = await svc.branches.current_term(b)
    figures = await ex.figures(b, term, term.started_at, clock.timestamp() + 1)
    assert figures.views == 3
    clock.advance(days=1)
    await ex.view(page.token, "203.0.113.9", "甲浏览器")
    figures = await ex.figures(b, term, term.started_at, clock.timestamp() + 1)
    assert figures.views == 4  # a new day counts the same visitor again
    stored = await svc.db.fetchall("SELECT day, visitor FROM showcase_views")
    assert len(stored) == 4 and not any("203.0.113" in r[1] for r in stored)
    await ex.close_page(b, world.secretary)
    assert await ex.view(page.token, "203.0.113.9", "甲浏览器") is None
    assert await ex.view("not a token!", "203.0.113.9", "甲浏览器") is None
    with pytest.raises(DomainError, match="没有开放的展示页"):
        await ex.close_page(b, world.secretary)
    fresh, new = await ex.page_link(b, world.secretary)
    assert new and fresh.token != page.token


def test_the_daily_salt_is_random_and_changes_with_the_day():
    first, second = DailySalt(), DailySalt()
    one = first.visitor("2026-11-27", "203.0.113.9", "UA")
    assert one == first.visitor("2026-11-27", "203.0.113.9", "UA")
    assert one != second.visitor("2026-11-27", "203.0.113.9", "UA")  # never derivable
    assert one != first.visitor("2026-11-28", "203.0.113.9", "UA")
    assert len(one) == 32 and "203" not in one


async def test_a_bind_brings_the_exemplars_cases_and_the_showcase_link_along(svc):
    """A floor group that was a branch of its own, with a nomination, a case and a showcase
    page, is bound into the main branch: all of it moves, and the floor's link shows the
    merged branch."""
    owner = Actor(1, is_superuser=True)
    main = await svc.branches.create_branch(9101, Actor(601, is_group_admin=True), "总支")
    floor = await svc.branches.create_branch(9102, Actor(602, is_group_admin=True), "五楼")
    await svc.branches.register(floor.id, 602, "陈静", "5楼", None)
    await svc.exemplars.open_call(floor.id, 9102, owner, DEADLINE)
    n = await svc.exemplars.nominate(floor.id, 602, 602, "学业", "期末全优")
    await svc.exemplars.review(floor.id, owner, n.id, True, None)
    await svc.exemplars.add_case(floor.id, owner, n.id, "学霸之路", None, None)
    page, _ = await svc.exemplars.page_link(floor.id, owner)
    result = await svc.branches.bind(9102, main.id, owner)
    assert "1 个微典型推荐" in result.summary() and "1 个典型案例" in result.summary()
    moved = await svc.exemplars.get(main.id, n.id)
    term = await svc.branches.current_term(main.id)
    assert moved.term_id == term.id
    shown = await svc.exemplars.view(page.token, "198.51.100.7", "UA")
    assert shown.branch == "总支" and [c.title for c in shown.cases] == ["学霸之路"]
