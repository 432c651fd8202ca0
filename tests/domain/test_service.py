"""Skills and wishes matched to members; the service standard (服务达标率) and the matching
figures in the report, against hand counts; the previous term and the change."""

from __future__ import annotations

import pytest

from config import BranchConfig
from domain.branches import Actor, parse_tags
from domain.errors import DomainError, Forbidden
from domain.posts import AREA, OBSERVER, VANGUARD
from domain.tasks import PERSON, Target
from domain.wishes import Candidate, rank_matches
from tests.domain.test_posts import private

GROUP = 6201
ROOT = Actor(1, is_superuser=True)


def test_tags_are_split_folded_and_bounded():
    assert parse_tags("高数 英语、电脑维修，#党史 高数 ＡＢ ab", 10, 20) == [
        "高数", "英语", "电脑维修", "党史", "AB"]
    for text, why in (("", "至少一个"), ("关闭", "不能作为特长"), ("长" * 21, "最多 20 字"),
                      (" ".join(str(i) for i in range(11)), "最多 10 个")):
        with pytest.raises(DomainError, match=why):
            parse_tags(text, 10, 20)


def test_ranking_more_tags_then_floor_then_fewer_claims():
    people = [Candidate(1, "4楼", ("高数",), 0), Candidate(2, "3楼", ("高数",), 2),
              Candidate(3, "3楼", ("高数",), 1), Candidate(4, "5楼", ("高数", "辅导"), 2),
              Candidate(5, "3楼", ("英语",), 0)]
    ranked = rank_matches("求高数辅导", "3楼", people)
    assert [m.candidate.user_id for m in ranked] == [4, 3, 2, 1]
    assert ranked[0].tags == ("高数", "辅导") and ranked[0].score == 2


@pytest.fixture
async def branch(svc) -> int:
    return (await svc.branches.branch_for_group(GROUP)).id


async def member(svc, b, uid, name, floor="3楼", identity="正式党员", tags=None):
    await svc.branches.register(b, uid, name, floor, f"{floor[0]}0{uid % 10}")
    await svc.branches.set_role(b, ROOT, uid, identity)
    if tags:
        await svc.branches.set_skills(b, Actor(uid), uid, tags)


async def test_a_wish_tells_the_best_three_once(svc, branch):
    b = branch
    await member(svc, b, 401, "许愿人", tags="高数")  # the wisher: never told
    await member(svc, b, 402, "满额", tags="高数 辅导")  # three open claims: never told
    await member(svc, b, 403, "关了", tags="高数 辅导")  # matching off: never told
    await member(svc, b, 404, "群众", identity="群众", tags="高数 辅导")  # may not claim
    await member(svc, b, 405, "双标签", floor="5楼", tags="高数 辅导")  # 2 tags: first
    await member(svc, b, 406, "同楼", tags="高数")  # the wisher's floor: second
    await member(svc, b, 407, "外楼少", floor="4楼", tags="高数")  # fewer claims: third
    await member(svc, b, 408, "外楼多", floor="4楼", tags="高数")  # one open claim: fourth
    await member(svc, b, 409, "英语", tags="英语")  # no tag in the text
    await svc.branches.set_matching(b, Actor(403), 403, False)
    for i in range(3):
        wish = await svc.wishes.post(b, GROUP, 409, f"帮忙 {i}")
        await svc.wishes.claim(b, wish.id, 402)
    wish = await svc.wishes.post(b, GROUP, 409, "帮忙 3")
    await svc.wishes.claim(b, wish.id, 408)
    before = len(await private(svc, "wish_match"))

    wish = await svc.wishes.post(b, GROUP, 401, "求高数辅导")
    told = (await private(svc, "wish_match"))[before:]
    assert [to for to, _, _ in told] == [405, 406, 407]
    assert told[0][2].startswith(
        f"有一个心愿可能适合你：#{wish.id} 求高数辅导（你的特长：高数、辅导）")
    assert f"发送 /心愿 认领 #{wish.id}" in told[0][2]
    assert await svc.wishes.repo.matched(wish.id) == [405, 406, 407]
    assert await svc.wishes.notify_matches(wish) == []  # once per wish and person


async def test_skills_are_ones_own_or_set_by_an_admin(svc, branch):
    b = branch
    await member(svc, b, 411, "甲")
    await member(svc, b, 412, "乙")
    with pytest.raises(Forbidden):
        await svc.branches.set_skills(b, Actor(411), 412, "高数")
    await svc.branches.set_skills(b, ROOT, 412, "高数 英语")
    assert await svc.branches.skills(b, 412) == (["高数", "英语"], True)
    await svc.branches.set_matching(b, Actor(412), 412, False)
    assert await svc.branches.skills(b, 412) == (["高数", "英语"], False)
    with pytest.raises(DomainError, match="请先发送 /登记"):
        await svc.branches.set_skills(b, Actor(499), 499, "高数")


async def test_no_matching_when_match_notify_is_zero(tmp_path, clock):
    from domain.services import open_services

    svc = await open_services(BranchConfig(match_notify=0), clock, str(tmp_path / "m.db"))
    try:
        b = (await svc.branches.branch_for_group(GROUP)).id
        await member(svc, b, 421, "甲", tags="高数")
        await svc.wishes.post(b, GROUP, 422, "求高数辅导")
        assert await private(svc, "wish_match") == []
    finally:
        await svc.db.close()


# the service standard -----------------------------------------------------------------------

P3A, P3B, P3C, P4A, P4B, MASSES, HELPED = 431, 432, 433, 434, 435, 436, 437
SECRETARY = Actor(430)


async def serve_wish(svc, b, helper, wisher=HELPED, rate=True):
    wish = await svc.wishes.post(b, GROUP, wisher, "帮我看看简历")
    await svc.wishes.claim(b, wish.id, helper)
    await svc.wishes.mark_done(b, wish.id, helper, None)
    if rate:
        await svc.wishes.rate(b, wish.id, wisher, 5, None)
    return wish


async def solve_problem(svc, b, handler, reporter=HELPED):
    problem = await svc.problems.raise_problem(b, GROUP, reporter, "报修 灯坏了")
    await svc.problems.take_on(b, problem.id, SECRETARY, handler)
    await svc.problems.solve(b, problem.id, Actor(handler), "换好了")
    await svc.problems.confirm(b, problem.id, reporter, 5, None)


async def do_task(svc, b, uid, confirm=True):
    task = await svc.tasks.publish(b, GROUP, SECRETARY, "布置文化墙", None,
                                   Target(PERSON, (uid,)), 2)
    await svc.tasks.complete(b, task.id, uid, "完成")
    if confirm:
        await svc.tasks.confirm(b, task.id, SECRETARY)


@pytest.fixture
async def term(svc, branch):
    """Five eligible members (3 on 3楼, 2 on 4楼), a 群众 and a student they help."""
    b = branch
    await member(svc, b, SECRETARY.user_id, "书记", floor="1楼", identity="群众")
    await svc.branches.set_role(b, ROOT, SECRETARY.user_id, "书记")
    for uid, floor in ((P3A, "3楼"), (P3B, "3楼"), (P3C, "3楼"), (P4A, "4楼"), (P4B, "4楼")):
        await member(svc, b, uid, f"党员{uid}", floor=floor)
    await member(svc, b, MASSES, "群众", identity="群众")
    await member(svc, b, HELPED, "同学", identity="群众")
    return b


async def test_service_standard_hand_count(svc, clock, term):
    b = term
    # P3A: 2 tasks + 1 wish = 3 → 达标. P3B: 1 task + 1 problem + 1 wish = 3 → 达标.
    # P3C: 2 tasks (a third reported, not confirmed) = 2 → not. P4A: 3 problems → 达标.
    # P4B: nothing. MASSES (not eligible): 3 tasks → counted in the sources, not in the rate.
    for _ in range(2):
        await do_task(svc, b, P3A)
    await serve_wish(svc, b, P3A)
    await do_task(svc, b, P3B)
    await solve_problem(svc, b, P3B)
    await serve_wish(svc, b, P3B, rate=False)  # served, not rated: not completed yet
    for _ in range(2):
        await do_task(svc, b, P3C)
    await do_task(svc, b, P3C, confirm=False)
    for _ in range(3):
        await solve_problem(svc, b, P4A)
    for _ in range(3):
        await do_task(svc, b, MASSES)
    figures = dict((await svc.reports.build_unchecked(b, None)).figures())
    assert figures["党员服务达标率"] == "40.0%（2/5 人服务达到 3）"  # P3A, P4A
    clock.advance(days=8)  # the unrated wish completes by itself: P3B reaches 3
    await svc.wishes.auto_complete_overdue()
    report = await svc.reports.build_unchecked(b, None)
    figures = dict(report.figures())
    assert figures["党员服务达标率"] == "60.0%（3/5 人服务达到 3）"
    assert figures["3楼服务达标率"] == "66.7%（2/3 人）"
    assert figures["4楼服务达标率"] == "50.0%（1/2 人）"
    assert figures["服务来源"] == "任务 8 次，心愿 2 次，民情 4 次（加权合计 14）"
    assert figures["任务发布"] == "9 个（指派 9 人次）"
    assert figures["任务完成率"] == "88.9%（8/9 人次已确认）"
    counts = report.service_counts
    assert (counts[P3B].tasks, counts[P3B].wishes, counts[P3B].problems) == (1, 1, 1)


async def test_weights_change_who_reaches_the_standard(tmp_path, clock):
    from domain.services import open_services

    settings = BranchConfig(service_standard=4, service_weight_problem=2)
    svc = await open_services(settings, clock, str(tmp_path / "w.db"))
    try:
        b = (await svc.branches.branch_for_group(GROUP)).id
        await member(svc, b, SECRETARY.user_id, "书记", identity="群众")
        await svc.branches.set_role(b, ROOT, SECRETARY.user_id, "书记")
        await member(svc, b, P3A, "甲")
        await member(svc, b, HELPED, "同学", identity="群众")
        await solve_problem(svc, b, P3A)
        await solve_problem(svc, b, P3A)  # 2 × 2 = 4
        figures = dict((await svc.reports.build_unchecked(b, None)).figures())
        assert figures["党员服务达标率"] == "100.0%（1/1 人服务达到 4）"
        assert figures["服务来源"] == "任务 0 次，心愿 0 次，民情 2 次（加权合计 4）"
    finally:
        await svc.db.close()


async def test_the_previous_term_and_the_change_stay_put(svc, clock, term):
    b = term
    await svc.posts.assign(b, ROOT, P3A, VANGUARD, "学习先锋")
    await svc.posts.assign(b, ROOT, P4A, AREA, "4楼")
    for _ in range(3):
        await do_task(svc, b, P3A)
    first = await svc.branches.current_term(b)
    clock.advance(days=1)
    await svc.branches.start_term(b, ROOT, "第二学期")
    clock.advance(days=1)
    for uid in (P3A, P3B, P4A, P4B):
        for _ in range(3):
            await do_task(svc, b, uid)
    await svc.posts.cancel(b, ROOT, P3A, None)  # posts change in the new term
    await svc.posts.assign(b, ROOT, P3B, OBSERVER, None)
    await svc.branches.set_role(b, ROOT, P3C, "群众")  # and an identity
    now = dict((await svc.reports.build_unchecked(b, None)).figures())
    assert now["党员服务达标率"] == "100.0%（4/4 人服务达到 3）；上学期 20.0%，↑80.0 个百分点"
    assert now["3楼服务达标率"] == "100.0%（2/2 人）；上学期 33.3%，↑66.7 个百分点"
    assert now["4楼服务达标率"] == "100.0%（2/2 人）；上学期 0.0%，↑100.0 个百分点"
    assert now["岗位"] == "责任区 1 人（服务达标 1），观察员 1 人（服务达标 1）"
    past = dict((await svc.reports.build_unchecked(b, first.name)).figures())
    assert past["党员服务达标率"] == "20.0%（1/5 人服务达到 3）"
    assert past["岗位"] == "先锋岗 1 人（服务达标 1），责任区 1 人（服务达标 0）"


async def test_matching_figures_this_term_against_the_last(svc, clock, term):
    b = term
    for uid in (P3A, P3B):
        await svc.branches.set_skills(b, Actor(uid), uid, "简历")

    async def claimed_after(hours, helper):
        wish = await svc.wishes.post(b, GROUP, HELPED, "帮我改简历")
        clock.advance(hours=hours)
        await svc.wishes.claim(b, wish.id, helper)

    await claimed_after(10, P3C)  # last term: 10 h, by someone not told
    first = await svc.branches.current_term(b)
    await svc.branches.start_term(b, ROOT, "第二学期")
    await claimed_after(2, P3A)  # told (简历), 2 h
    await claimed_after(4, P4A)  # not told, 4 h
    await claimed_after(1, P3B)  # told, 1 h
    await svc.wishes.post(b, GROUP, HELPED, "没人认领的简历心愿")
    figures = dict((await svc.reports.build_unchecked(b, None)).figures())
    assert figures["匹配认领占比"] == "66.7%（2/3 个被认领的心愿由收到匹配通知的成员认领）"
    assert figures["认领用时"] == "中位 2.0 小时（3 个）；上学期 10.0 小时，提速 80.0%"
    past = dict((await svc.reports.build_unchecked(b, first.name)).figures())
    assert past["匹配认领占比"].startswith("0.0%（0/1")
    assert past["认领用时"] == "中位 10.0 小时（1 个）"  # the first term has none before it
