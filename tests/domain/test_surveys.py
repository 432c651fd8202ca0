"""Surveys: parsing, the step-by-step answer flow (skip, cancel, timeout), who may answer,
invitations after a session, anonymity in the raw tables, results and the report figures."""

import json
from datetime import datetime, timedelta

import pytest

from domain.branches import Actor
from domain.errors import DomainError, Forbidden, NotFound
from domain.surveys import (
    SurveyInputError,
    parse_survey,
    satisfaction_mean,
    satisfied_share,
)
from tests.conftest import TZ
from tests.domain.conftest import HELPER, HELPER2, MASSES, SECRETARY, WISHER

TONIGHT = datetime(2026, 11, 27, 21, 0, tzinfo=TZ)  # the clock starts at 20:00 that day
CUSTOM = """11月导学反馈 匿名
1. 评分 本次导学对你有帮助吗
2、选择 下次想要的形式 | 讲座 | 讨论 | 观影
填空 其他建议 选填"""


async def create(world, text=CUSTOM):
    survey, _ = await world.svc.surveys.create(world.branch_id, 5001, world.secretary, text)
    return survey


async def answer(world, survey_id, user_id, *replies):
    """Start, feed each reply, submit when done; returns the steps."""
    svc = world.svc
    sheet = await svc.surveys.start(survey_id, Actor(user_id))
    steps = [sheet.feed(r, svc.clock.timestamp()) for r in replies]
    if steps and steps[-1].kind == "done":
        await svc.surveys.submit(sheet)
    return steps


async def session_with_checkins(world, clock, *people):
    svc = world.svc
    session = await svc.sessions.create(world.branch_id, 5001, world.secretary, "党章学习",
                                        TONIGHT, 60, with_code=False)
    clock.set(TONIGHT + timedelta(minutes=5))
    for uid in people:
        await svc.sessions.check_in(world.branch_id, uid, None)
    return session


# parsing ---------------------------------------------------------------------------------


def test_parse_a_custom_survey(settings):
    draft = parse_survey(CUSTOM, settings)
    assert draft.title == "11月导学反馈" and draft.anonymous and draft.link is None
    kinds = [(q.position, q.kind, q.prompt, q.choices, q.optional) for q in draft.questions]
    assert kinds == [(1, "scale", "本次导学对你有帮助吗", (), False),
                     (2, "choice", "下次想要的形式", ("讲座", "讨论", "观影"), False),
                     (3, "text", "其他建议", (), True)]


def test_parse_the_satisfaction_template_with_a_link(settings):
    draft = parse_survey("满意度 关联 导学#12", settings)
    assert draft.template == "satisfaction" and draft.link == ("session", "导学", 12)
    assert [q.kind for q in draft.questions] == ["scale", "scale", "text"]
    assert [q.satisfaction for q in draft.questions] == [True, False, False]
    assert parse_survey("满意度 关联 心愿 #3 匿名", settings).link == ("wish", "心愿", 3)


@pytest.mark.parametrize(("text", "message"), [
    ("只有标题", "问卷至少要有一道题"),
    ("标题\n随便写一行", "第 2 行要以题型开头"),
    ("标题\n选择 只有一个 | 甲", "第 2 行：选择题需要 2 到 10 个选项"),
    ("标题\n评分 " + "长" * 101, "第 2 行的题目最多 100 字"),
    ("标" * 101 + "\n评分 题", "问卷标题最多 100 字"),
    ("标题\n" + "\n".join(f"评分 第{i}题" for i in range(16)), "问卷最多 15 道题，现在 16 道"),
])
def test_bad_surveys_are_refused_naming_the_line_and_limit(settings, text, message):
    with pytest.raises(SurveyInputError if "字" not in message else DomainError, match=message):
        parse_survey(text, settings)


# answering step by step --------------------------------------------------------------------


async def test_step_flow_validates_each_answer_and_allows_skipping_optional(world):
    survey = await create(world)
    svc = world.svc
    sheet = await svc.surveys.start(survey.id, Actor(HELPER))
    now = svc.clock.timestamp()
    assert "第 1/3 题（评分，回复 1-5 的数字）" in sheet.intro()
    assert sheet.feed("6", now).kind == "retry"
    assert sheet.feed("跳过", now).reply.startswith("第 1 题是必答题")
    step = sheet.feed("５", now)  # full-width digits are fine
    assert step.kind == "ask" and "1. 讲座\n2. 讨论\n3. 观影" in step.reply
    assert sheet.feed("4", now).kind == "retry"
    assert sheet.feed("讨论", now).kind == "ask"
    too_long = sheet.feed("长" * 201, now)
    assert too_long.kind == "retry" and "最多 200 字" in too_long.reply
    assert sheet.feed("跳过", now).kind == "done"
    assert sheet.values == ["5", "2", None]
    await svc.surveys.submit(sheet)
    with pytest.raises(DomainError, match="已经填写过"):
        await svc.surveys.start(survey.id, Actor(HELPER))


async def test_cancel_saves_nothing(world):
    survey = await create(world)
    steps = await answer(world, survey.id, HELPER, "5", "取消")
    assert steps[-1].kind == "cancelled" and "没有保存任何回答" in steps[-1].reply
    assert not await world.svc.surveys.repo.has_answered(survey, HELPER)
    await answer(world, survey.id, HELPER, "5", "1", "跳过")  # may start again afterwards
    assert await world.svc.surveys.repo.has_answered(survey, HELPER)
    await world.svc.surveys.close(survey.id, world.secretary, world.branch_id)
    assert await world.svc.surveys.repo.respondents(survey) == [HELPER]


async def test_timeout_after_the_idle_minutes_saves_nothing(world, clock, settings):
    survey = await create(world)
    sheet = await world.svc.surveys.start(survey.id, Actor(HELPER))
    clock.advance(minutes=9)
    assert sheet.feed("5", clock.timestamp()).kind == "ask"  # each answer restarts the wait
    clock.advance(minutes=settings.survey_answer_timeout_minutes, seconds=1)
    step = sheet.feed("2", clock.timestamp())
    assert step.kind == "expired" and "已超时（10 分钟没有回复）" in step.reply
    assert await world.svc.surveys.repo.respondents(survey) == []


async def test_a_closed_survey_refuses_and_strangers_are_told_it_is_not_theirs(world):
    svc = world.svc
    survey = await create(world)
    with pytest.raises(NotFound, match="不是你所在支部的问卷"):
        await svc.surveys.start(survey.id, Actor(999))
    other = await svc.branches.branch_for_group(5002)
    await svc.branches.register(other.id, 888, "别支部", None, None)
    with pytest.raises(NotFound, match="不是你所在支部的问卷"):
        await svc.surveys.start(survey.id, Actor(888))  # registered, but in another branch
    sheet = await svc.surveys.start(survey.id, Actor(HELPER))
    with pytest.raises(Forbidden):
        await svc.surveys.close(survey.id, Actor(HELPER), world.branch_id)
    await svc.surveys.close(survey.id, world.secretary, world.branch_id)
    for value in ("5", "1", "跳过"):
        sheet.feed(value, svc.clock.timestamp())
    with pytest.raises(DomainError, match="已经结束"):
        await svc.surveys.submit(sheet)
    with pytest.raises(DomainError, match="已经结束"):
        await svc.surveys.start(survey.id, Actor(WISHER))


# tied to a session or a wish -----------------------------------------------------------------


async def test_session_survey_invites_its_check_ins_after_the_end(world, clock):
    svc = world.svc
    session = await session_with_checkins(world, clock, HELPER, WISHER)
    survey, invited = await svc.surveys.create(world.branch_id, 5001, world.secretary,
                                               f"满意度 关联 导学#{session.id} 匿名")
    assert invited == 0 and survey.title == f"满意度调查：导学 #{session.id}「党章学习」"
    assert survey.invite_at == session.ends_at + 30 * 60
    assert await svc.surveys.invite_due() == {}
    with pytest.raises(Forbidden, match=f"只请导学 #{session.id} 的参加者填写"):
        await svc.surveys.start(survey.id, Actor(MASSES))
    clock.set(datetime.fromtimestamp(survey.invite_at, TZ))
    assert await svc.surveys.invite_due() == {survey.id: 2}
    assert await svc.surveys.invite_due() == {}  # once
    invites = [(r[1], r[2], r[5]) for r in await svc.outbox.repo.all()
               if r[5].startswith("你好！你参加了")]
    assert sorted(i[1] for i in invites) == [WISHER, HELPER]
    assert all(i[0] == "private" and f"/问卷 填写 #{survey.id}" in i[2] for i in invites)
    await answer(world, survey.id, HELPER, "5", "4", "跳过")


async def test_session_already_over_invites_at_once(world, clock):
    svc = world.svc
    session = await session_with_checkins(world, clock, HELPER)
    clock.advance(hours=3)
    _, invited = await svc.surveys.create(world.branch_id, 5001, world.secretary,
                                          f"满意度 关联 活动#{session.id}")
    assert invited == 1


async def test_wish_survey_needs_a_served_wish_and_asks_the_wisher(world):
    svc, b = world.svc, world.branch_id
    wish = await svc.wishes.post(b, 5001, WISHER, "借一本党章")
    with pytest.raises(DomainError, match="还没有完成服务"):
        await svc.surveys.create(b, 5001, world.secretary, f"满意度 关联 心愿#{wish.id}")
    await svc.wishes.claim(b, wish.id, HELPER)
    await svc.wishes.mark_done(b, wish.id, HELPER, None)
    survey, invited = await svc.surveys.create(b, 5001, world.secretary,
                                               f"满意度 关联 心愿#{wish.id}")
    assert invited == 1
    with pytest.raises(Forbidden):
        await svc.surveys.start(survey.id, Actor(HELPER))
    await answer(world, survey.id, WISHER, "4", "5", "很及时")
    other = await svc.branches.branch_for_group(5002)
    with pytest.raises(NotFound):
        await svc.surveys.create(other.id, 5002, Actor(1, is_superuser=True),
                                 f"满意度 关联 心愿#{wish.id}")


# anonymity -------------------------------------------------------------------------------


async def columns(db, table):
    return [r[1] for r in await db.fetchall(f"PRAGMA table_info({table})")]


async def test_raw_tables_of_an_anonymous_survey_cannot_be_joined(world):
    db = world.svc.db
    survey = await create(world)
    given = {SECRETARY: ("1", "1", "差"), WISHER: ("5", "2", "好"), MASSES: ("3", "3", "中"),
             HELPER: ("4", "2", "跳过")}
    for uid, replies in given.items():  # answered in this order
        await answer(world, survey.id, uid, *replies)
    # while open, fewer than two batches wait: only who answered is written, never what
    assert await columns(db, "survey_waiting") == ["survey_id", "user_id"]
    assert len(await db.fetchall("SELECT * FROM survey_waiting")) == 4
    assert await db.fetchall("SELECT * FROM survey_sheets") == []
    results = await world.svc.surveys.results(survey.id, world.secretary, world.branch_id)
    assert "另有 4 份匿名回答已收到、等待保存" in await world.svc.surveys.render_results(results)
    await world.svc.surveys.close(survey.id, world.secretary, world.branch_id)
    assert await db.fetchall("SELECT * FROM survey_waiting") == []

    who = await columns(db, "survey_respondents")
    what = await columns(db, "survey_sheets")
    assert who == ["survey_id", "user_id"]
    assert what == ["survey_id", "sheet", "position", "value"]
    assert set(who) & set(what) == {"survey_id"}
    for table in ("survey_respondents", "survey_sheets"):
        with pytest.raises(Exception, match="no such column"):
            await db.fetchall(f"SELECT rowid FROM {table}")
    # nothing in the named tables
    assert await db.fetchall("SELECT * FROM survey_responses WHERE survey_id = ?",
                             (survey.id,)) == []
    # respondents are stored by QQ number, not in the order they answered
    stored = [r[0] for r in await db.fetchall(
        "SELECT user_id FROM survey_respondents WHERE survey_id = ?", (survey.id,))]
    assert stored == sorted(given)
    # sheets are random numbers: neither the answering order nor anything about the person
    sheets = [r[0] for r in await db.fetchall(
        "SELECT DISTINCT sheet FROM survey_sheets WHERE survey_id = ? ORDER BY sheet",
        (survey.id,))]
    assert len(sheets) == 4 and not set(sheets) & set(given)
    assert sorted(sheets) != list(range(min(sheets), min(sheets) + 4))
    # every answer is there, as a set
    rows = await db.fetchall("SELECT sheet, position, value FROM survey_sheets "
                             "WHERE survey_id = ?", (survey.id,))
    by_sheet: dict[int, list] = {}
    for sheet, position, value in rows:
        by_sheet.setdefault(sheet, [None] * 3)[position - 1] = value
    assert sorted(tuple(v) for v in by_sheet.values()) == sorted(
        (a, b, None if c == "跳过" else c) for a, b, c in given.values())


# results and the report ---------------------------------------------------------------------


async def test_results_summarise_each_question_for_admins(world):
    svc = world.svc
    survey = await create(world)
    await answer(world, survey.id, HELPER, "5", "2", "多讨论")
    await answer(world, survey.id, WISHER, "3", "2", "跳过")
    with pytest.raises(Forbidden):
        await svc.surveys.results(survey.id, Actor(HELPER), world.branch_id)
    await svc.surveys.close(survey.id, world.secretary, world.branch_id)  # stores the last batch
    results = await svc.surveys.results(survey.id, world.secretary, world.branch_id)
    assert (results.responses, results.answered, results.invited) == (2, 2, 5)
    text = await svc.surveys.render_results(results)
    assert "回收 2 份；回收率 40.0%（2/5 人）" in text
    assert "1. [评分] 本次导学对你有帮助吗：平均 4.00 分，4–5 分占 50.0%" in text
    assert "2. [选择] 下次想要的形式：讲座 0，讨论 2，观影 0（2 人）" in text
    assert "3. [填空] 其他建议：1 条回答\n  · 多讨论" in text


def test_satisfaction_figures():
    assert satisfaction_mean([5, 4, 3]) == 4 and satisfied_share([5, 4, 3, 1]) == 0.5
    assert satisfaction_mean([]) is None and satisfied_share([]) is None


async def test_report_gains_polls_surveys_and_the_satisfaction_score(world, clock):
    svc, b = world.svc, world.branch_id
    poll = await svc.polls.create(b, 5001, world.secretary, "选题 | 甲 | 乙")
    for uid in (HELPER, WISHER):
        await svc.polls.vote(poll.id, uid, (1,), b)
    await svc.polls.create(b, 5001, world.secretary, "时间 | 周五 | 周六 匿名")
    session = await session_with_checkins(world, clock, HELPER, WISHER, MASSES)
    clock.advance(hours=3)
    survey, _ = await svc.surveys.create(b, 5001, world.secretary,
                                         f"满意度 关联 导学#{session.id} 匿名")
    await answer(world, survey.id, HELPER, "5", "5", "跳过")
    await answer(world, survey.id, WISHER, "3", "4", "跳过")
    await svc.surveys.close(survey.id, world.secretary, b)  # anonymous: stored at the close
    named, _ = await svc.surveys.create(b, 5001, world.secretary, "满意度")
    await answer(world, named.id, HELPER2, "4", "4", "跳过")
    report = await svc.reports.build(b, world.secretary)
    votes = report.votes
    assert (votes.polls, votes.surveys) == (2, 2)
    assert votes.mean_turnout == pytest.approx((2 / 5 + 0) / 2)
    assert (votes.answered, votes.invited) == (3, 3 + 5)
    assert sorted(votes.scores) == [3, 4, 5]
    rows = dict(report.figures())
    assert rows["投票举办"] == "2 次" and rows["投票平均参与率"] == "20.0%"
    assert rows["问卷发放"] == "2 份" and rows["问卷回收率"] == "37.5%（3/8 人次）"
    assert rows["问卷满意度"] == "平均 4.00 分，4–5 分占 66.7%（3 份评分）"
    labels = [label for label, _ in report.figures()]
    assert labels.index("问卷满意度") == len(labels) - 1  # appended after the existing rows


async def test_a_branch_survey_tells_the_other_groups_and_invites_each_member(world):
    svc, b = world.svc, world.branch_id
    await svc.branches.bind(5002, b, Actor(10000, is_superuser=True))
    survey, invited = await svc.surveys.create(b, 5001, world.secretary, "满意度")
    assert invited == 4  # every active profile but the creator, who typed it
    rows = await svc.db.fetchall("SELECT target_type, target_id, kind, segments, "
                                 "fallback_segments, via_group_id FROM outbox ORDER BY id")
    groups = [r for r in rows if r["target_type"] == "group"]
    assert [(r["target_id"], r["kind"]) for r in groups] == [(5002, "survey_new")]
    assert f"/问卷 填写 #{survey.id}" in groups[0]["segments"]
    invites = [r for r in rows if r["target_type"] == "private"]
    assert sorted(r["target_id"] for r in invites) == [WISHER, HELPER, HELPER2, MASSES]
    for r in invites:
        assert r["kind"] == "survey_invite" and r["via_group_id"] == 5001
        assert f"/问卷 填写 #{survey.id}" in r["segments"] and "满意度调查" in r["segments"]
        fallback = json.loads(r["fallback_segments"])
        assert fallback[0] == {"type": "at", "data": {"qq": str(r["target_id"])}}
        assert "/问卷 填写" in fallback[1]["data"]["text"]
        assert "满意度调查" not in r["fallback_segments"]  # no content in the group
    # 回收率 counts whom it reached: someone who registered later counts once they answer
    results = await svc.surveys.results(survey.id, world.secretary, b)
    assert (results.answered, results.invited) == (0, 5)
    await svc.branches.register(b, 106, "后来的", "3楼", "302")
    assert (await svc.surveys.results(survey.id, world.secretary, b)).invited == 5
    await answer(world, survey.id, 106, "5", "5", "跳过")
    await answer(world, survey.id, HELPER, "4", "4", "跳过")
    results = await svc.surveys.results(survey.id, world.secretary, b)
    assert (results.answered, results.invited) == (2, 6)


async def test_a_survey_and_its_invitations_are_one_change(world, monkeypatch):
    svc, b = world.svc, world.branch_id

    async def broken(*args, **kwargs):
        raise RuntimeError("the outgoing queue is down")

    monkeypatch.setattr(svc.outbox, "to_user", broken)
    with pytest.raises(RuntimeError):
        await svc.surveys.create(b, 5001, world.secretary, "满意度")
    assert await svc.db.fetchval("SELECT COUNT(*) FROM surveys") == 0
    assert await svc.db.fetchval("SELECT COUNT(*) FROM survey_invitations") == 0


async def test_a_text_answer_keeps_its_full_width_punctuation(world):
    survey = await create(world, CUSTOM.replace(" 匿名", "", 1))  # named: stored at once
    steps = await answer(world, survey.id, HELPER, "５", "２", "很好，下次再来！（真的）")
    assert [s.kind for s in steps] == ["ask", "ask", "done"]  # full-width digits still count
    results = await world.svc.surveys.results(survey.id, world.secretary, world.branch_id)
    assert results.summaries[2].texts == ("很好，下次再来！（真的）",)
    assert results.summaries[0].scores == (5,)
async def test_anonymous_answers_are_stored_in_batches_and_lost_ones_told(world, settings,
                                                                       clock):
    from domain.services import open_services

    svc, b = world.svc, world.branch_id
    for uid in range(6001, 6012):  # eleven more members to answer
        await svc.branches.register(b, uid, f"成员{uid}", None, None)
    survey = await create(world)
    people = list(range(6001, 6011))
    for uid in people[:9]:
        await answer(world, survey.id, uid, "4", "1", "跳过")
    assert await svc.db.fetchall("SELECT * FROM survey_sheets") == []
    await answer(world, survey.id, people[9], "5", "2", "跳过")  # ten wait: five are stored
    stored = {r[0] for r in await svc.db.fetchall("SELECT user_id FROM survey_respondents")}
    assert stored == set(people[:5])
    assert len({r[0] for r in await svc.db.fetchall("SELECT sheet FROM survey_sheets")}) == 5
    # the bot stops: the five still waiting are lost, and told to answer again
    again = await open_services(settings, clock, svc.db.path)
    try:
        assert await again.surveys.recover_lost_answers() == 5
        told = [r for r in await again.outbox.repo.all() if "请重新填写" in r[5]]
        assert sorted(r[2] for r in told) == people[5:]
        assert not await again.surveys.repo.has_answered(survey, people[9])
        sheet = await again.surveys.start(survey.id, Actor(people[9]))  # and may
        assert sheet.survey.id == survey.id
    finally:
        await again.db.close()
