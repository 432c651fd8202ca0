"""微党课: speakers, who may score whom and when, changing a score, the step-by-step sheet, the
close (ranking with shared ranks, points once, anonymous scorers forgotten), a race of 50."""

import asyncio
import json
from datetime import datetime, timedelta

import pytest

from domain.branches import Actor
from domain.errors import DomainError, Forbidden, NotFound
from domain.lectures import rank_by_mean
from tests.conftest import TZ
from tests.domain.conftest import HELPER, HELPER2, MASSES, SECRETARY, WISHER

STARTS = datetime(2026, 11, 27, 20, 10, tzinfo=TZ)  # the clock starts at 20:00 that day


async def add_people(world, count: int, first: int = 400000) -> list[int]:
    for i in range(count):
        await world.svc.branches.register(world.branch_id, first + i, f"听众{i}", "4楼", None)
    return [first + i for i in range(count)]


async def lecture_night(world, anonymous=False, speakers=(HELPER, HELPER2, SECRETARY)):
    """A 微党课 at 20:10 for 60 minutes without a code; its speakers set."""
    svc = world.svc
    activity = await svc.activities.create(world.branch_id, 5001, world.secretary, "微党课",
                                           "青年说", STARTS, 60, with_code=False)
    titles = ["初心", "奋斗", "担当", "传承"]
    await svc.lectures.set_speakers(world.branch_id, world.secretary, activity.id,
                                    [(u, titles[i]) for i, u in enumerate(speakers)], anonymous)
    return activity


async def check_in(world, people):
    for user_id in people:
        await world.svc.sessions.check_in(world.branch_id, user_id, None)


def test_equal_means_share_a_rank_and_the_unscored_come_last():
    table = rank_by_mean([("a", [4, 4]), ("b", [5, 3, 4]), ("c", [5]), ("d", []), ("e", [3])])
    assert [(s.rank, s.item) for s in table] == [(1, "c"), (2, "a"), (2, "b"), (4, "e"),
                                                 (None, "d")]
    assert table[1].mean == 4.0 and table[4].mean is None and table[2].count == 3


async def test_only_scored_kinds_registered_speakers_and_organisers(world):
    svc, b = world.svc, world.branch_id
    share = await svc.activities.create(b, 5001, world.secretary, "微分享", "考研", STARTS, 60)
    with pytest.raises(DomainError, match="不是评分类活动"):
        await svc.lectures.set_speakers(b, world.secretary, share.id, [(HELPER, "题")], False)
    night = await svc.activities.create(b, 5001, world.secretary, "微党课", "青年说", STARTS, 60)
    with pytest.raises(Forbidden):
        await svc.lectures.set_speakers(b, Actor(MASSES), night.id, [(HELPER, "题")], False)
    with pytest.raises(DomainError, match="还没有在本支部登记"):
        await svc.lectures.set_speakers(b, world.secretary, night.id, [(99999, "题")], False)
    with pytest.raises(DomainError, match="写了两次"):
        await svc.lectures.set_speakers(b, world.secretary, night.id,
                                        [(HELPER, "一"), (HELPER, "二")], False)
    with pytest.raises(DomainError, match="讲题最多 50 字"):
        await svc.lectures.set_speakers(b, world.secretary, night.id, [(HELPER, "长" * 51)],
                                        False)
    with pytest.raises(NotFound):
        await svc.lectures.set_speakers(b + 1, world.secretary, night.id, [(HELPER, "题")],
                                        False)
    lecture = await svc.lectures.set_speakers(b, world.secretary, night.id,
                                              [(HELPER, "初心"), (WISHER, "奋斗")], True)
    assert [(s.position, s.user_id, s.title) for s in lecture.speakers] == [
        (1, HELPER, "初心"), (2, WISHER, "奋斗")]
    assert lecture.round.anonymous and lecture.round.closes_at == night.ends_at + 24 * 3600


async def test_who_may_score_when_and_a_score_changes_until_the_close(world, clock):
    svc, b = world.svc, world.branch_id
    night = await lecture_night(world)
    await check_in(world, [WISHER, HELPER])
    with pytest.raises(DomainError, match="还没开始"):
        await svc.lectures.score(night.id, WISHER, 1, 5)
    clock.set(STARTS + timedelta(minutes=5))
    with pytest.raises(Forbidden, match="只有签到了微党课 #1的同学可以评分"):
        await svc.lectures.score(night.id, MASSES, 1, 5)
    with pytest.raises(Forbidden, match="不能给自己评分"):
        await svc.lectures.score(night.id, HELPER, 1, 5)
    with pytest.raises(DomainError, match="没有第 4 位讲者"):
        await svc.lectures.score(night.id, WISHER, 4, 5)
    with pytest.raises(NotFound):
        await svc.lectures.score(night.id, 77777, 1, 5)  # no profile in the branch
    first = await svc.lectures.score(night.id, WISHER, 1, 4)
    assert (first.name, first.previous) == ("助人者", None)
    again = await svc.lectures.score(night.id, WISHER, 1, 5)
    assert again.previous == 4 and "替换了之前的 4 分" in again.reply()
    await svc.lectures.score(night.id, HELPER, 2, 3)
    clock.set(datetime.fromtimestamp(night.ends_at + 24 * 3600, TZ))
    with pytest.raises(DomainError, match="评分已于"):
        await svc.lectures.score(night.id, WISHER, 1, 1)
    rows = await svc.db.fetchall("SELECT speaker_id, scorer_id, score FROM lecture_scores "
                                 "ORDER BY speaker_id")
    assert [tuple(r) for r in rows] == [(HELPER, WISHER, 5), (HELPER2, HELPER, 3)]
    assert b


async def test_step_by_step_skips_oneself_and_stores_each_score(world, clock):
    svc = world.svc
    night = await lecture_night(world)
    await check_in(world, [HELPER])
    clock.set(STARTS + timedelta(minutes=30))
    sheet = await svc.lectures.start(night.id, HELPER)
    intro = svc.lectures.intro(sheet)
    assert "共 2 位" in intro and "你是讲者之一，不给自己评分" in intro
    assert "第 1/2 位：助人者二《奋斗》" in intro
    step = await svc.lectures.feed(sheet, "6")
    assert step.kind == "retry" and "1 到 5" in step.reply
    step = await svc.lectures.feed(sheet, "４分")  # full-width digits are fine
    assert step.kind == "ask" and "第 2/2 位：书记《担当》" in step.reply
    step = await svc.lectures.feed(sheet, "跳过")
    assert step.kind == "done" and "你这次给出 1 个分数" in step.reply
    assert await svc.lectures.repo.scores_by(night.id, HELPER) == {HELPER2: 4}
    again = await svc.lectures.start(night.id, HELPER)
    assert "（你之前给了 4 分）" in svc.lectures.intro(again)
    with pytest.raises(Forbidden, match="只有签到了"):
        await svc.lectures.start(night.id, MASSES)


async def test_close_ranks_books_points_once_and_posts_to_every_group(world, clock):
    svc, b = world.svc, world.branch_id
    await svc.branches.bind(5002, b, Actor(SECRETARY, is_group_admin=True, group_id=5002))
    audience = await add_people(world, 4)
    night = await lecture_night(world, speakers=(HELPER, HELPER2, SECRETARY, WISHER))
    await check_in(world, audience)
    clock.set(STARTS + timedelta(minutes=20))
    # hand count: 初心 (HELPER) 5,5,4,4 = 4.50; 奋斗 (HELPER2) 4,4 = 4.00; 担当 (SECRETARY)
    # 5,3 = 4.00; 传承 (WISHER) nothing. Ranks 1, 2, 2, —
    for scorer, scores in zip(audience, ([5, 4, 5], [5, 4, 3], [4], [4]), strict=True):
        for position, value in enumerate(scores, start=1):
            await svc.lectures.score(night.id, scorer, position, value)
    assert await svc.lectures.close_due(night.id) is None  # not due yet
    clock.set(datetime.fromtimestamp(night.ends_at + 24 * 3600, TZ))
    table = await svc.lectures.close_due(night.id)
    assert [(s.rank, s.item.user_id, s.count) for s in table] == [
        (1, HELPER, 4), (2, HELPER2, 2), (2, SECRETARY, 2), (None, WISHER, 0)]
    assert await svc.lectures.close_due(night.id) is None  # exactly once
    entries = await svc.db.fetchall(
        "SELECT user_id, category, delta FROM ledger WHERE ref LIKE 'lecture:%' ORDER BY id")
    booked: dict[int, int] = {}
    for user_id, category, delta in entries:
        assert category == "互动"
        booked[user_id] = booked.get(user_id, 0) + delta
    assert booked == {HELPER: 5, HELPER2: 5, SECRETARY: 5, WISHER: 3}
    posts = await svc.db.fetchall("SELECT target_id, segments FROM outbox "
                                  "WHERE kind = 'lecture_ranking' ORDER BY target_id")
    assert [r[0] for r in posts] == [5001, 5002]
    text = json.loads(posts[0][1])[0]["data"]["text"]
    assert "第 1 名 助人者《初心》平均 4.50 分（4 人评分）" in text
    assert "第 2 名 助人者二《奋斗》平均 4.00 分（2 人评分）" in text
    assert "第 2 名 书记《担当》平均 4.00 分（2 人评分）" in text
    assert "— 许愿人《传承》暂无评分" in text
    assert str(audience[0]) not in text


async def test_an_anonymous_round_forgets_its_scorers_when_it_closes(world, clock):
    svc = world.svc
    audience = await add_people(world, 3)
    night = await lecture_night(world, anonymous=True, speakers=(HELPER,))
    await check_in(world, audience)
    clock.set(STARTS + timedelta(minutes=20))
    for i, scorer in enumerate(audience):
        await svc.lectures.score(night.id, scorer, 1, 3 + i)
    clock.set(datetime.fromtimestamp(night.ends_at + 24 * 3600, TZ))
    await svc.lectures.close_due(night.id)
    rows = await svc.db.fetchall("SELECT speaker_id, scorer_id, score, at FROM lecture_scores")
    assert sorted(r[2] for r in rows) == [3, 4, 5]
    assert all(r[1] is None and r[3] is None for r in rows)
    figures = await svc.lectures.figures(world.branch_id, 0, 2**40)
    assert (figures.held, figures.speakers, len(figures.scores), figures.mean) == (1, 1, 3, 4.0)
    sheet = (await svc.lectures.sheets(world.branch_id, 0, 2**40))[1]
    assert {row[4] for row in sheet[2]} == {"（匿名）"}


async def test_fifty_score_at_once_each_counted_once(world, clock):
    svc = world.svc
    audience = await add_people(world, 50)
    night = await lecture_night(world, speakers=(HELPER,))
    await check_in(world, audience)
    clock.set(STARTS + timedelta(minutes=20))
    # each of the 50 sends two scores at the same moment; the later one stands
    results = await asyncio.gather(*(svc.lectures.score(night.id, u, 1, s)
                                     for u in audience for s in (3, 5)))
    assert len(results) == 100
    rows = await svc.db.fetchall("SELECT scorer_id, score FROM lecture_scores")
    assert len(rows) == 50 and {r[0] for r in rows} == set(audience)
    assert {r[1] for r in rows} == {5}
    lecture = await svc.lectures.show(world.branch_id, night.id)
    (standing,) = await svc.lectures.standings(lecture)
    assert (standing.count, standing.mean) == (50, 5.0)


async def test_speakers_cannot_change_once_scored_and_a_cancelled_night_books_nothing(world,
                                                                                     clock):
    svc, b = world.svc, world.branch_id
    night = await lecture_night(world)
    await check_in(world, [WISHER])
    clock.set(STARTS + timedelta(minutes=5))
    await svc.lectures.score(night.id, WISHER, 1, 5)
    with pytest.raises(DomainError, match="已经有人评分了"):
        await svc.lectures.set_speakers(b, world.secretary, night.id, [(HELPER, "新")], False)
    await svc.sessions.cancel(b, world.secretary, night.id)
    clock.set(datetime.fromtimestamp(night.ends_at + 24 * 3600, TZ))
    assert await svc.lectures.close_due(night.id) == []
    assert not await svc.db.fetchval("SELECT COUNT(*) FROM ledger WHERE ref LIKE 'lecture:%'")
