"""The task list: publishing to each kind of target, claiming (races), completing, confirming
(who may), returning, points booked once, deadline notices, catch-up and the weekly list."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from domain.branches import Actor
from domain.errors import DomainError, Forbidden, NotFound
from domain.posts import VANGUARD
from domain.tasks import ALL, FLOOR, OPEN, PERSON, POST, Target
from tests.domain.test_posts import private

GROUP = 6101
ROOT = Actor(1, is_superuser=True)
SECRETARY = Actor(300)  # 书记
A, B, C = 301, 302, 303  # 3楼 (A leads its 党小组)
D, E = 304, 305  # 4楼
MASSES = 306  # 3楼, 群众


@pytest.fixture
async def branch(svc) -> int:
    b = (await svc.branches.branch_for_group(GROUP)).id
    people = ((SECRETARY.user_id, "书记", "1楼", "101", "正式党员"),
              (A, "甲", "3楼", "301", "正式党员"), (B, "乙", "3楼", "302", "预备党员"),
              (C, "丙", "3楼", "303", "入党积极分子"), (D, "丁", "4楼", "401", "正式党员"),
              (E, "戊", "4楼", "402", "发展对象"), (MASSES, "群众", "3楼", "304", "群众"))
    for uid, name, floor, dorm, identity in people:
        await svc.branches.register(b, uid, name, floor, dorm)
        await svc.branches.set_role(b, ROOT, uid, identity)
    await svc.branches.set_role(b, ROOT, SECRETARY.user_id, "书记")
    await svc.branches.set_role(b, ROOT, A, "组长")
    return b


def due(svc, **delta) -> int:
    return int((svc.clock.now() + timedelta(**delta)).timestamp())


async def publish(svc, b, target, title="整理宿舍公告栏", due_at=None, points=None,
                  actor=SECRETARY):
    return await svc.tasks.publish(b, GROUP, actor, title, due_at, target, points)


async def ledger(svc) -> list[tuple]:
    return [tuple(r) for r in await svc.db.fetchall(
        "SELECT user_id, category, delta, ref FROM ledger ORDER BY id")]


async def test_who_each_kind_of_task_is_for(svc, branch):
    b = branch
    await svc.posts.assign(b, ROOT, B, VANGUARD, "学习先锋")
    await svc.posts.assign(b, ROOT, D, VANGUARD, "服务先锋")
    cases = [(Target(PERSON, (C, MASSES)), [C, MASSES]),
             (Target(POST, word=VANGUARD), [B, D]),
             (Target(FLOOR, word="3"), [A, B, C]),  # eligible members of 3楼 only
             (Target(ALL), [300, A, B, C, D, E]),
             (Target(OPEN), [])]
    for target, people in cases:
        task = await publish(svc, b, target)
        assert sorted(a.user_id for a in task.assignments) == sorted(people), target
    floor = await svc.tasks.get(b, 3)
    assert floor.row.target == "3楼" and floor.target_text() == "楼层:3楼"
    told = sorted(to for to, _, _ in await private(svc, "task_assigned"))
    assert told == [B, C, D, MASSES]  # named people and post holders; floors hear in the group


async def test_refusals_when_publishing(svc, branch):
    b = branch
    with pytest.raises(Forbidden):
        await publish(svc, b, Target(OPEN), actor=Actor(A))
    with pytest.raises(DomainError, match="截止时间已经过去"):
        await publish(svc, b, Target(OPEN), due_at=due(svc, minutes=-1))
    with pytest.raises(DomainError, match="0 到 50"):
        await publish(svc, b, Target(OPEN), points=51)
    with pytest.raises(DomainError, match="任务标题最多 100 字"):
        await publish(svc, b, Target(OPEN), title="长" * 101)
    with pytest.raises(DomainError, match="现在没有人担任先锋岗"):
        await publish(svc, b, Target(POST, word=VANGUARD))
    with pytest.raises(DomainError, match="9楼还没有"):
        await publish(svc, b, Target(FLOOR, word="9楼"))
    with pytest.raises(NotFound, match="99999 还没有在本支部登记"):
        await publish(svc, b, Target(PERSON, (99999,)))
    assert await svc.db.fetchval("SELECT COUNT(*) FROM tasks") == 0


async def test_done_returned_redone_confirmed_and_booked_once(svc, branch):
    b = branch
    task = await publish(svc, b, Target(PERSON, (B,)), points=4)
    with pytest.raises(Forbidden, match="不是你的任务"):
        await svc.tasks.complete(b, task.id, C, "做好了")
    with pytest.raises(DomainError, match="完成说明不能为空"):
        await svc.tasks.complete(b, task.id, B, " ")
    with pytest.raises(DomainError, match="还没有人报告完成"):
        await svc.tasks.confirm(b, task.id, SECRETARY)
    await svc.tasks.complete(b, task.id, B, "贴好了")
    asked = await private(svc, "task_done")
    assert sorted(to for to, _, _ in asked) == [SECRETARY.user_id, A]  # publisher, 3楼 组长
    with pytest.raises(DomainError, match="正在等待确认"):
        await svc.tasks.complete(b, task.id, B, "又贴了一次")

    held = await svc.tasks.send_back(b, task.id, SECRETARY, None, "照片不清楚")
    assert held.user_id == B
    back = (await svc.tasks.get(b, task.id)).of(B)
    assert (back.state, back.returns, back.return_reason, back.done_at) == (
        "todo", 1, "照片不清楚", None)
    assert "被退回：照片不清楚" in (await private(svc, "task_returned"))[0][2]
    await svc.tasks.complete(b, task.id, B, "重新拍了照")
    done = await svc.tasks.confirm(b, task.id, SECRETARY)
    assert [(d.user_id, d.points) for d in done] == [(B, 4)]
    assert (await svc.tasks.get(b, task.id)).row.state == "done"
    assert await ledger(svc) == [(B, "服务", 4, f"task:{task.id}:{B}")]
    with pytest.raises(DomainError, match="已完成"):
        await svc.tasks.confirm(b, task.id, SECRETARY)
    # the ledger's unique reference: the same confirmation can never book twice
    again = await svc.points.book(b, B, "服务", 4, "重复", ref=f"task:{task.id}:{B}")
    assert again is None and len(await ledger(svc)) == 1
    assert "获得 4 积分" in (await private(svc, "task_confirmed"))[0][2]


async def test_who_may_confirm(svc, branch):
    b = branch
    task = await publish(svc, b, Target(ALL), points=2)
    for uid in (A, B, D):
        await svc.tasks.complete(b, task.id, uid, "完成")
    with pytest.raises(Forbidden, match="党小组组长"):
        await svc.tasks.confirm(b, task.id, Actor(C))  # neither admin nor 组长
    with pytest.raises(Forbidden):
        await svc.tasks.confirm(b, task.id, Actor(A), D)  # 4楼 is not A's floor
    with pytest.raises(Forbidden):
        await svc.tasks.confirm(b, task.id, Actor(A), A)  # never one's own
    done = await svc.tasks.confirm(b, task.id, Actor(A))  # the 组长: their floor, not self
    assert [d.user_id for d in done] == [B]
    with pytest.raises(DomainError, match="请 @ 要退回的人"):
        await svc.tasks.send_back(b, task.id, SECRETARY, None, "再看看")
    await svc.tasks.send_back(b, task.id, SECRETARY, D, "再看看")
    done = await svc.tasks.confirm(b, task.id, SECRETARY)
    assert [d.user_id for d in done] == [A]
    assert (await svc.tasks.get(b, task.id)).row.state == "open"  # others still to do


async def test_an_open_task_is_claimed_once(svc, branch):
    b = branch
    task = await publish(svc, b, Target(OPEN))
    with pytest.raises(Forbidden, match="认领任务需要身份"):
        await svc.tasks.claim(b, task.id, MASSES)
    results = await asyncio.gather(*(svc.tasks.claim(b, task.id, uid) for uid in (A, B, C, D)),
                                   return_exceptions=True)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all("已经被别人认领了" in str(r) for r in results if isinstance(r, Exception))
    holder = (await svc.tasks.get(b, task.id)).assignments
    assert len(holder) == 1 and holder[0].claimed
    assigned = await publish(svc, b, Target(PERSON, (C,)))
    with pytest.raises(DomainError, match="不需要认领"):
        await svc.tasks.claim(b, assigned.id, D)


async def test_deadline_notices_once_and_only_to_those_not_done(svc, clock, branch):
    b = branch
    task = await publish(svc, b, Target(FLOOR, word="3楼"), due_at=due(svc, days=3))
    assert task.row.remind_at == task.row.due_at - 24 * 3600
    await svc.tasks.complete(b, task.id, A, "完成")
    clock.set(svc.clock.from_timestamp(task.row.remind_at))
    assert await svc.tasks.remind(task.id) == 2  # B and C; A reported done
    assert await svc.tasks.remind(task.id) == 0  # once
    texts = [text for _, _, text in await private(svc, "task_reminder")]
    assert all("将于" in t and f"#{task.id}" in t for t in texts) and len(texts) == 2
    await svc.tasks.complete(b, task.id, B, "完成")
    clock.set(svc.clock.from_timestamp(task.row.due_at + 60))
    assert await svc.tasks.tell_overdue(task.id) == 1  # only C is still 待完成
    assert [to for to, _, _ in await private(svc, "task_overdue")] == [C]
    weekly = await svc.tasks.weekly_text(b)
    assert "进行中 1 个，其中逾期 1 个" in weekly and "（逾期）" in weekly
    assert "丙" not in weekly  # the group sees counts, never who has not finished


async def test_catch_up_after_a_restart(svc, clock, branch):
    b = branch
    soon = await publish(svc, b, Target(PERSON, (C,)), due_at=due(svc, hours=30))
    later = await publish(svc, b, Target(PERSON, (C,)), due_at=due(svc, days=5))
    short = await publish(svc, b, Target(PERSON, (C,)), due_at=due(svc, hours=2))
    assert short.row.remind_at is None  # less than a day away: no reminder
    clock.advance(hours=10)  # the bot was down: soon's reminder fell due 4 hours ago
    sent, ahead = await svc.tasks.catch_up()
    assert sent == 2  # soon's reminder (still before its deadline), short's overdue notice
    assert sorted(r.id for r in ahead) == [soon.id, later.id]
    kinds = [(kind, text.split("「")[0]) for _, kind, text in await private(svc)
             if kind in ("task_reminder", "task_overdue")]
    assert kinds == [("task_reminder", f"⏰ 任务提醒：#{soon.id}"),
                     ("task_overdue", f"⚠️ 任务 #{short.id}")]
    assert (await svc.tasks.catch_up())[0] == 0


async def test_cancelled_tasks_take_nothing_more(svc, branch):
    b = branch
    task = await publish(svc, b, Target(PERSON, (C,)), due_at=due(svc, days=2))
    await svc.tasks.cancel(b, task.id, SECRETARY)
    with pytest.raises(DomainError, match="已取消"):
        await svc.tasks.complete(b, task.id, C, "做了")
    assert await svc.tasks.remind(task.id) == 0 and await svc.tasks.open_tasks(b) == []
    assert (await svc.tasks.figures(b, 0, 2**40)).published == 0
