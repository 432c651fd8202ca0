"""The 读书笔记 sheet, and a past term's sheets from its frozen membership (issue 14)."""

from __future__ import annotations

from datetime import timedelta

from openpyxl import load_workbook

from domain.branches import Actor
from tools.export import export_term

OWNER = Actor(1, is_superuser=True)
READER, LEADER, LEAVER = 301, 302, 303
NOTE = "=SUM(A1) 学习了党章总纲，明白了党员要在宿舍和楼层里带头服务同学，争做表率。"


async def test_notes_sheet_and_a_past_terms_members(svc, clock, tmp_path):
    b = (await svc.branches.branch_for_group(5002)).id
    for uid, name, floor in ((READER, "读者", "三楼"), (LEADER, "导学人", "3"),
                             (LEAVER, "离开的人", "5F")):
        await svc.branches.register(b, uid, name, floor, None)
        await svc.branches.set_role(b, OWNER, uid, "正式党员")
    await svc.branches.set_role(b, OWNER, LEADER, "组长")
    session = await svc.sessions.create(b, 5002, OWNER, "党章学习",
                                        clock.now() + timedelta(minutes=10), 60, LEADER)
    clock.advance(minutes=10)
    await svc.sessions.check_in(b, READER, svc.sessions.code_now(session).code)
    await svc.sessions.add_note(b, READER, NOTE)
    clock.advance(days=1)
    first = (await svc.branches.current_term(b)).name
    await svc.branches.start_term(b, OWNER, "2027春")
    await svc.branches.remove(b, OWNER, LEAVER)  # after the term ended

    out = tmp_path / "past.xlsx"
    await export_term(svc, b, first, out)
    wb = load_workbook(out)
    notes = list(wb["读书笔记"].iter_rows(min_row=2, values_only=True))
    assert notes == [(session.id, "党章学习", READER, "读者", "2026-11-27 20:10", len(NOTE), NOTE)]
    cell = next(c for row in wb["读书笔记"].iter_rows(min_row=2) for c in row if c.value == NOTE)
    assert cell.data_type == "s"  # never a formula
    members = {r[0]: r for r in wb["成员"].iter_rows(min_row=2, values_only=True)}
    assert set(members) == {READER, LEADER, LEAVER}  # as the term ended
    assert members[LEADER][5] == "3楼" and members[LEADER][9] == "是"
    assert members[LEAVER][5] == "5楼" and members[READER][9] == "否"
