"""One sheet per survey: named ones with who answered, anonymous ones without any identity."""

from __future__ import annotations

from openpyxl import load_workbook

from domain.branches import Actor
from tools.export import RAW_SECTION, export_term

OWNER = Actor(1, is_group_admin=True)
ALICE, BOB = 201, 202
FORMULA = "=HYPERLINK(\"http://x\")"


async def fill(svc, survey_id, user_id, *replies):
    sheet = await svc.surveys.start(survey_id, Actor(user_id))
    for reply in replies:
        sheet.feed(reply, svc.clock.timestamp())
    await svc.surveys.submit(sheet)


async def test_a_sheet_per_survey_and_anonymous_ones_without_identity(svc, tmp_path):
    b = (await svc.branches.branch_for_group(5001)).id
    for uid, name in ((ALICE, "小艾"), (BOB, "小博")):
        await svc.branches.register(b, uid, name, "3楼", None)
    named, _ = await svc.surveys.create(b, 5001, OWNER, "活动反馈\n评分 收获\n"
                                                        "选择 形式 | 讲座 | 讨论\n填空 建议 选填")
    anonymous, _ = await svc.surveys.create(b, 5001, OWNER, "满意度 匿名")
    await fill(svc, named.id, ALICE, "5", "2", FORMULA)
    await fill(svc, named.id, BOB, "3", "1", "跳过")
    await fill(svc, anonymous.id, ALICE, "4", "4", "跳过")
    await fill(svc, anonymous.id, BOB, "2", "3", "无")
    await svc.surveys.close(anonymous.id, OWNER, b)  # anonymous answers: stored at the latest now
    poll = await svc.polls.create(b, 5001, OWNER, "选题 | 甲 | 乙")
    await svc.polls.vote(poll.id, ALICE, (1,), b)

    out = tmp_path / "term.xlsx"
    await export_term(svc, b, None, out)
    wb = load_workbook(out)
    sheet = wb[f"问卷#{named.id} 活动反馈"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("QQ", "姓名", "提交时间", "1. 收获", "2. 形式", "3. 建议")
    assert rows[1:] == [(ALICE, "小艾", "2026-11-27 20:00", 5, "讨论", FORMULA),
                        (BOB, "小博", "2026-11-27 20:00", 3, "讲座", None)]
    cell = next(c for row in sheet.iter_rows(min_row=2) for c in row if c.value == FORMULA)
    assert cell.data_type == "s"

    sheet = wb[f"问卷#{anonymous.id} 满意度调查"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("1. 总体满意度（1 很不满意，5 很满意）",
                       "2. 内容或服务对你有帮助吗（1 没有帮助，5 很有帮助）",
                       "3. 还有什么意见和建议？")
    assert sorted(rows[1:], key=str) == sorted([(4, 4, None), (2, 3, "无")], key=str)
    every_cell = {v for row in rows for v in row}
    assert not every_cell & {ALICE, BOB, "小艾", "小博", "2026-11-27 20:00"}

    values = list(wb["汇总"].iter_rows(values_only=True))
    raw = {r[0]: r[1] for r in values[[r[0] for r in values].index(RAW_SECTION) + 1:]}
    assert (raw["投票举办"], raw["问卷发放"]) == (1, 2)
    assert (raw["问卷回收人次"], raw["问卷邀请人次"]) == (4, 4)
    assert raw["问卷满意度均分"] == 3.0 and raw["问卷满意(4–5)占比"] == 0.5
