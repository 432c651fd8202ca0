"""Terms that stay put: an ended term's report reads its frozen membership; /统计 shows the
trend against the previous term (issue 14, item 6)."""

from datetime import timedelta

from domain.branches import Actor
from tests.domain.test_report import ROOT, A, B, C, D, E, fixture_term  # noqa: F401

FIRST = "2026-2027学年第一学期"


async def test_a_past_terms_report_is_the_same_after_this_terms_changes(svc, clock,
                                                                       fixture_term):  # noqa: F811
    b = fixture_term
    await svc.branches.start_term(b, ROOT, "2027春")
    before = (await svc.reports.build_unchecked(b, FIRST, 10)).figures()
    assert dict(before)["成员"] == "5 人"

    await svc.branches.remove(b, ROOT, A)  # in the new term: a member leaves,
    await svc.branches.set_role(b, ROOT, B, "群众")  # an identity changes,
    await svc.branches.register(b, C, "丙", "九楼", None)  # someone moves floors
    clock.advance(days=1)
    assert (await svc.reports.build_unchecked(b, FIRST, 10)).figures() == before
    await svc.branches.start_term(b, ROOT, "2027秋")  # and another term starts
    clock.advance(days=30)
    again = await svc.reports.build_unchecked(b, FIRST, 10)
    assert again.figures() == before
    assert sorted(m.user_id for m in again.roster) == [A, B, C, D, E]

    spring = await svc.reports.build_unchecked(b, "2027春")  # frozen at its own end
    assert spring.members == 4 and spring.by_identity == {"群众": 2, "入党积极分子": 1,
                                                          "发展对象": 1}
    assert [f.floor for f in spring.floors] == ["1楼", "2楼", "9楼", "未填楼层"]


async def test_the_report_shows_the_change_against_the_previous_term(svc, clock,
                                                                    fixture_term):  # noqa: F811
    b = fixture_term
    first = await svc.reports.build_unchecked(b, None)
    assert first.previous is None and "上学期" not in str(first.figures())
    await svc.branches.start_term(b, ROOT, "2027春")
    for uid, delta in ((A, 20), (B, 20), (C, 20)):
        await svc.points.adjust(b, ROOT, uid, delta, "新学期表现")
    now = dict((await svc.reports.build_unchecked(b, None)).figures())
    assert now["积分达标率"] == "75.0%（3/4 人达到标准）；上学期 50.0%，↑25.0 个百分点"
    assert now["平均出勤率"] == "—；上学期 75.0%"
    assert now["满意度"].endswith("；上学期 50.0%")


async def test_removed_members_are_not_among_the_top_three(svc, fixture_term):  # noqa: F811
    await svc.branches.remove(fixture_term, ROOT, D)
    report = await svc.reports.build_unchecked(fixture_term, None)
    assert [uid for _, uid, _ in report.top] == [E, A, B]


async def test_identities_in_order_and_floor_lines_without_jargon(svc, fixture_term):  # noqa: F811
    report = await svc.reports.build(fixture_term, ROOT, None)
    assert list(report.by_identity) == ["群众", "入党积极分子", "发展对象", "预备党员", "正式党员"]
    figures = report.figures()
    assert ("身份构成", "群众 1，入党积极分子 1，发展对象 1，预备党员 1，正式党员 1") in figures
    lines = [f"{label}：{value}" for label, value in figures]
    assert "1楼：成员 2 人，其中入党积极分子及以上 2 人，积分达标 1 人（50.0%）" in lines
    assert not any("应服务" in line or line.startswith("楼层") for line in lines)
    await svc.branches.set_role(fixture_term, Actor(1, is_superuser=True), A, "组长")
    report = await svc.reports.build(fixture_term, ROOT, None)
    assert dict(report.figures())["1楼"].endswith("；党小组组长 甲")


async def test_the_session_reminder_says_check_in_once(svc):
    b = (await svc.branches.branch_for_group(7002)).id
    starts = svc.clock.now() + timedelta(hours=2)
    coded = await svc.sessions.create(b, 7002, ROOT, "有码", starts, 60)
    open_ = await svc.sessions.create(b, 7002, ROOT, "无码", starts, 60, with_code=False)
    for session in (coded, open_):
        assert await svc.sessions.fire_job(session.id, "remind")
    texts = [r[5] for r in await svc.outbox.repo.all()]
    assert any(t.endswith("到场后发送 /签到 即可。") for t in texts)
    assert any("不要发到群里）。" in t for t in texts)
    assert not any(" 签到。" in t or "签到 签到" in t for t in texts)
