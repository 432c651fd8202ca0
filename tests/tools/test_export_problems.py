"""The 民情 sheet: one row per problem of the term, every timestamp, text never a formula."""

from __future__ import annotations

from datetime import timedelta

from openpyxl import load_workbook

from domain.branches import Actor
from tools.export import RAW_SECTION, export_term

OWNER = Actor(1, is_group_admin=True)
REPORTER, HELPER = 201, 202
FORMULA = "=HYPERLINK(\"http://x\")"


async def test_problem_sheet_has_every_problem_and_timestamp(svc, clock, tmp_path):
    b = (await svc.branches.branch_for_group(5001)).id
    for uid, name in ((REPORTER, "反映人"), (HELPER, "处理人")):
        await svc.branches.register(b, uid, name, "3楼", None)
    await svc.branches.set_role(b, OWNER, HELPER, "正式党员")
    start = clock.now()
    private = await svc.problems.raise_problem(b, None, REPORTER, "心理 私下的烦恼", True)
    await svc.problems.raise_problem(b, 5001, REPORTER, f"报修 {FORMULA}")
    clock.set(start + timedelta(hours=2))
    await svc.problems.take_on(b, private.id, OWNER, HELPER)
    clock.set(start + timedelta(hours=5))
    await svc.problems.solve(b, private.id, Actor(HELPER), "谈过了")
    await svc.problems.confirm(b, private.id, REPORTER, 5, "谢谢")
    clock.set(start + timedelta(hours=30))  # the repair was never answered: overdue

    out = tmp_path / "term.xlsx"
    report = await export_term(svc, b, None, out)
    wb = load_workbook(out)
    rows = list(wb["民情"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == report.problems.collected == 2
    first, second = rows
    assert first[:8] == (private.id, "心理", "已办结", "私聊", "是", f"反映人（{REPORTER}）",
                         "私下的烦恼", f"处理人（{HELPER}）")
    assert first[15:21] == ("2026-11-27 20:00", "2026-11-27 22:00", None, "2026-11-28 01:00",
                            "2026-11-28 01:00", None)
    assert first[21:] == (2.0, 5.0, "否")
    assert second[2:4] == ("待受理", "群 5001") and second[23] == "是"
    cell = next(c for row in wb["民情"].iter_rows(min_row=2) for c in row if c.value == FORMULA)
    assert cell.data_type == "s"
    values = [r for r in wb["汇总"].iter_rows(values_only=True)]
    raw = {r[0]: r[1] for r in values[[r[0] for r in values].index(RAW_SECTION) + 1:]}
    assert (raw["民情收集"], raw["民情已办结"], raw["民情超时"]) == (2, 1, 1)
    assert raw["问题解决率"] == 0.5 and raw["首次响应中位(小时)"] == 2.0
