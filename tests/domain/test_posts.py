"""Posts (岗位) and responsibility areas: setting, replacing, ending, refusals, the notices an
area's member gets (and does not get), and posts frozen with an ended term."""

from __future__ import annotations

import json

import pytest

from domain.branches import Actor
from domain.errors import DomainError, Forbidden, NotFound
from domain.floors import dorm_in_range, parse_dorm_range
from domain.posts import AREA, OBSERVER, VANGUARD, area_text, describe

GROUP = 6001
ROOT = Actor(1, is_superuser=True)
AREA_HOLDER, VANGUARD_HOLDER, OBSERVER_HOLDER = 201, 202, 203
IN_AREA, OUTSIDE, OTHER_FLOOR, MASSES = 211, 212, 213, 214


@pytest.fixture
async def branch(svc) -> int:
    b = (await svc.branches.branch_for_group(GROUP)).id
    people = ((AREA_HOLDER, "区长", "3楼", "301", "正式党员"),
              (VANGUARD_HOLDER, "先锋", "3楼", "320", "预备党员"),
              (OBSERVER_HOLDER, "观察", "4楼", "401", "入党积极分子"),
              (IN_AREA, "住305", "3楼", "305", "群众"),
              (OUTSIDE, "住315", "3楼", "315", "群众"),
              (OTHER_FLOOR, "住405", "4楼", "405", "群众"),
              (MASSES, "群众甲", "3楼", "302", "群众"))
    for uid, name, floor, dorm, identity in people:
        await svc.branches.register(b, uid, name, floor, dorm)
        await svc.branches.set_role(b, ROOT, uid, identity)
    return b


async def private(svc, kind: str | None = None) -> list[tuple[int, str, str]]:
    """(to, kind, text) of every private message queued, in order."""
    rows = await svc.db.fetchall(
        "SELECT target_id, kind, segments FROM outbox WHERE target_type = 'private' ORDER BY id")
    found = [(r[0], r[1], "".join(s["data"].get("text", "") for s in json.loads(r[2])
                                  if s["type"] == "text")) for r in rows]
    return [f for f in found if kind is None or f[1] == kind]


async def set_area(svc, b, uid=AREA_HOLDER, detail="3楼 301-310"):
    return await svc.posts.assign(b, ROOT, uid, AREA, detail)


def test_dorm_ranges():
    assert parse_dorm_range("301–310") == ("301", "310")
    assert parse_dorm_range("a301 ~ a310") == ("A301", "A310")
    assert parse_dorm_range("305室") == ("305", "305")
    assert parse_dorm_range("") is None
    for bad in ("310-301", "A301-B310", "301-310-320", "东区"):
        with pytest.raises(ValueError):
            parse_dorm_range(bad)
    assert dorm_in_range("305", "301", "310") and dorm_in_range("310", "301", "310")
    assert not dorm_in_range("311", "301", "310") and not dorm_in_range("A305", "301", "310")
    assert not dorm_in_range(None, "301", "310") and dorm_in_range(None, None, None)
    assert area_text("3楼", "301", "310") == "3楼 301–310" and area_text("3楼", None, None) == "3楼"


async def test_posts_are_set_listed_replaced_and_ended(svc, branch):
    b = branch
    first = await svc.posts.assign(b, ROOT, VANGUARD_HOLDER, VANGUARD, "学习先锋")
    assert describe(first.post) == "先锋岗「学习先锋」" and first.replaced is None
    await set_area(svc, b)
    await svc.posts.assign(b, ROOT, OBSERVER_HOLDER, OBSERVER, None)
    again = await svc.posts.assign(b, ROOT, VANGUARD_HOLDER, VANGUARD, "服务先锋")
    assert again.replaced.title == "学习先锋"  # one post of a kind per person: replaced
    listed = await svc.posts.list(b)
    assert [(p.kind, p.user_id) for p in listed] == [
        (VANGUARD, VANGUARD_HOLDER), (AREA, AREA_HOLDER), (OBSERVER, OBSERVER_HOLDER)]
    assert [describe(p) for p in listed] == ["先锋岗「服务先锋」", "责任区 3楼 301–310", "观察员"]
    held = [m for m in await private(svc, "post_assigned") if m[0] == AREA_HOLDER]
    assert len(held) == 1 and "责任区内同学发布的心愿" in held[0][2]

    ended = await svc.posts.cancel(b, ROOT, VANGUARD_HOLDER, None)
    assert [p.title for p in ended] == ["服务先锋"]
    with pytest.raises(NotFound, match="现在没有岗位"):
        await svc.posts.cancel(b, ROOT, VANGUARD_HOLDER, None)
    with pytest.raises(NotFound, match="现在没有观察员"):
        await svc.posts.cancel(b, ROOT, AREA_HOLDER, OBSERVER)
    ids = [r[0] for r in await svc.db.fetchall("SELECT id FROM posts ORDER BY id")]
    assert ids == [1, 2, 3, 4]  # nothing deleted: ending is a state change


async def test_refusals(svc, branch):
    b = branch
    with pytest.raises(Forbidden, match="只有支委"):
        await svc.posts.assign(b, Actor(IN_AREA), AREA_HOLDER, OBSERVER, None)
    with pytest.raises(Forbidden, match="岗位由入党积极分子"):
        await svc.posts.assign(b, ROOT, MASSES, OBSERVER, None)
    with pytest.raises(NotFound, match="还没有在本支部登记"):
        await svc.posts.assign(b, ROOT, 99999, OBSERVER, None)
    with pytest.raises(DomainError, match="先锋岗名称不能为空"):
        await svc.posts.assign(b, ROOT, VANGUARD_HOLDER, VANGUARD, "")
    with pytest.raises(DomainError, match="宿舍范围写得不对"):
        await set_area(svc, b, detail="3楼 310-301")
    with pytest.raises(DomainError, match="请写责任区的楼层"):
        await set_area(svc, b, detail="")
    with pytest.raises(DomainError, match="观察员不需要"):
        await svc.posts.assign(b, ROOT, OBSERVER_HOLDER, OBSERVER, "多余")
    await set_area(svc, b)
    with pytest.raises(DomainError, match="与 区长 的责任区 3楼 301–310 重叠"):
        await set_area(svc, b, uid=VANGUARD_HOLDER, detail="3楼 308-312")
    with pytest.raises(DomainError, match="重叠"):
        await set_area(svc, b, uid=VANGUARD_HOLDER, detail="3楼")  # the whole floor
    await set_area(svc, b, uid=VANGUARD_HOLDER, detail="3楼 311-320")  # next door is fine
    await set_area(svc, b, uid=AREA_HOLDER, detail="三楼 301-305")  # one's own: replaced
    assert [area_text(p.floor, p.dorm_from, p.dorm_to) for p in await svc.posts.list(b)] == [
        "3楼 301–305", "3楼 311–320"]
    assert len(await svc.posts.list(b)) == 2  # refused ones changed nothing


async def test_a_wish_from_the_area_reaches_its_member_privately(svc, branch):
    b = branch
    await set_area(svc, b)
    inside = await svc.wishes.post(b, GROUP, IN_AREA, "求借一个台灯")
    await svc.wishes.post(b, GROUP, OUTSIDE, "求借一把伞")  # 315: outside 301–310
    await svc.wishes.post(b, GROUP, OTHER_FLOOR, "求借充电宝")
    await svc.wishes.post(b, GROUP, AREA_HOLDER, "我自己的心愿")  # in the area, but theirs
    told = await private(svc, "area_wish")
    assert [(to, text.split("\n")[0]) for to, _, text in told] == [
        (AREA_HOLDER, f"🏠 你的责任区（3楼 301–310）有新心愿：#{inside.id} 求借一个台灯")]
    assert "许愿人：住305（3楼 305）" in told[0][2]


async def test_a_problem_from_the_area_only_when_the_group_sees_it(svc, branch):
    b = branch
    await set_area(svc, b)
    seen = await svc.problems.raise_problem(b, GROUP, IN_AREA, "报修 走廊灯坏了")
    await svc.problems.raise_problem(b, None, IN_AREA, "心理 最近压力很大睡不着")  # privately
    await svc.problems.raise_problem(b, GROUP, IN_AREA, "生活 隔壁太吵", anonymous=True)
    told = await private(svc, "area_problem")
    assert len(told) == 1 and told[0][0] == AREA_HOLDER
    assert f"民情 #{seen.id} [报修]：走廊灯坏了" in told[0][2]
    everything = " ".join(text for to, _, text in await private(svc) if to == AREA_HOLDER)
    assert "压力" not in everything and "太吵" not in everything


async def test_the_notice_is_queued_in_the_same_transaction_as_the_wish(svc, branch,
                                                                         monkeypatch):
    b = branch
    await set_area(svc, b)

    async def broken(*args, **kwargs):
        raise RuntimeError("outbox down")

    monkeypatch.setattr(svc.outbox, "to_user", broken)
    with pytest.raises(RuntimeError):
        await svc.wishes.post(b, GROUP, IN_AREA, "求借一个台灯")
    assert await svc.db.fetchval("SELECT COUNT(*) FROM wishes") == 0  # neither, not one


async def test_an_ended_term_keeps_its_posts(svc, clock, branch):
    b = branch
    await svc.posts.assign(b, ROOT, VANGUARD_HOLDER, VANGUARD, "学习先锋")
    await set_area(svc, b)
    first = await svc.branches.current_term(b)
    before = await svc.reports.build_unchecked(b, None)
    clock.advance(days=1)
    await svc.branches.start_term(b, ROOT, "下学期")
    await svc.posts.cancel(b, ROOT, AREA_HOLDER, None)
    await svc.posts.assign(b, ROOT, VANGUARD_HOLDER, VANGUARD, "改名先锋")
    await svc.posts.assign(b, ROOT, OBSERVER_HOLDER, OBSERVER, None)
    clock.advance(days=1)
    past = await svc.reports.build_unchecked(b, first.name)
    assert [describe(p) for p in past.posts] == ["先锋岗「学习先锋」", "责任区 3楼 301–310"]
    assert dict(past.figures())["岗位"] == dict(before.figures())["岗位"] == (
        "先锋岗 1 人（服务达标 0），责任区 1 人（服务达标 0）")
    now = await svc.reports.build_unchecked(b, None)
    assert dict(now.figures())["岗位"] == "先锋岗 1 人（服务达标 0），观察员 1 人（服务达标 0）"


async def test_a_removed_member_holds_no_post(svc, branch):
    b = branch
    await set_area(svc, b)
    await svc.posts.assign(b, ROOT, VANGUARD_HOLDER, VANGUARD, "学习先锋")
    await svc.branches.remove(b, ROOT, AREA_HOLDER)
    await svc.wishes.post(b, GROUP, IN_AREA, "求借一个台灯")
    assert await private(svc, "area_wish") == []
    assert [p.user_id for p in await svc.posts.list(b)] == [VANGUARD_HOLDER]


async def test_a_bind_brings_posts_tasks_and_skills_along(svc):
    from domain.tasks import OPEN, Target

    main = (await svc.branches.create_branch(6301, Actor(1, is_group_admin=True), "总支")).id
    floor = (await svc.branches.create_branch(6302, Actor(1, is_group_admin=True), "五楼")).id
    for b in (main, floor):
        await svc.branches.register(b, AREA_HOLDER, "区长", "5楼", "501")
        await svc.branches.set_role(b, ROOT, AREA_HOLDER, "正式党员")
    await svc.branches.set_skills(main, ROOT, AREA_HOLDER, None)  # none in the target: filled
    await svc.branches.set_skills(floor, ROOT, AREA_HOLDER, "高数")
    await svc.posts.assign(floor, ROOT, AREA_HOLDER, AREA, "5楼")
    task = await svc.tasks.publish(floor, 6302, ROOT, "五楼任务", None, Target(OPEN), None)
    result = await svc.branches.bind(6302, main, Actor(1, is_superuser=True,
                                                       is_group_admin=True))
    assert "1 个岗位、1 个任务" in result.summary()
    assert [p.user_id for p in await svc.posts.list(main)] == [AREA_HOLDER]
    assert (await svc.tasks.get(main, task.id)).row.title == "五楼任务"
    assert await svc.branches.skills(main, AREA_HOLDER) == (["高数"], True)
