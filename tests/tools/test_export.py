"""The term export: the workbook's sheets agree with the report, and user text stays text."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import pytest
from openpyxl import load_workbook

from config import BranchConfig
from domain.branches import Actor
from domain.errors import NotFound
from domain.report import Report
from domain.services import open_services
from storage.ledger import LedgerRepository
from tests.conftest import TZ
from tools.export import PERCENT_FORMAT, RAW_SECTION, export_term, main, safe_text

OWNER = Actor(1, is_group_admin=True)
WISHER, HELPER, HELPER2, MASSES, SECRETARY, PROBATION = 101, 102, 103, 104, 105, 106
TONIGHT = datetime(2026, 11, 27, 21, 0, tzinfo=TZ)  # the clock starts at 20:00 that day
FORMULA = '=HYPERLINK("http://x")'
SHEETS = ["汇总", "积分流水", "成员", "心愿", "导学", "签到", "缺勤", "读书笔记", "民情", "服务",
          "任务", "岗位", "活动", "出勤", "微党课", "微党课评分", "微典型", "典型案例",
          "展示页浏览"]


@dataclass
class Term:
    branch_id: int
    session_id: int


async def build_term(svc, clock) -> Term:
    """Six members (3 eligible), a rated wish, a formula-looking wish, a session, an award."""
    b = (await svc.branches.branch_for_group(5001)).id
    for uid, name, floor in ((WISHER, "许愿人", "3楼"), (HELPER, "助人者", "3楼"),
                             (HELPER2, "助人者二", "3楼"), (MASSES, "群众甲", "4楼"),
                             (SECRETARY, "书记", "4楼"), (PROBATION, "-预备", "4楼")):
        await svc.branches.register(b, uid, name, floor, "301")
    for uid, word in ((HELPER, "正式党员"), (HELPER2, "入党积极分子"), (SECRETARY, "书记"),
                      (PROBATION, "预备党员")):
        await svc.branches.set_role(b, OWNER, uid, word)

    wish = await svc.wishes.post(b, 5001, WISHER, "帮我搬宿舍")
    await svc.wishes.claim(b, wish.id, HELPER)
    await svc.wishes.mark_done(b, wish.id, HELPER, "搬好了")
    await svc.wishes.rate(b, wish.id, WISHER, 5, "@全体 非常感谢")
    await svc.wishes.post(b, 5001, WISHER, FORMULA)

    session = await svc.sessions.create(b, 5001, Actor(SECRETARY), "党章学习", TONIGHT, 60)
    clock.set(TONIGHT)
    await svc.sessions.check_in(b, HELPER, svc.sessions.code_now(session).code)
    await svc.sessions.check_in(b, MASSES, svc.sessions.code_now(session).code)  # not eligible
    clock.advance(minutes=5)
    await svc.sessions.manual_check_in(b, Actor(SECRETARY), session.id, HELPER2, "手机没电")
    await svc.points.adjust(b, OWNER, PROBATION, 3, "+3 布置会场")
    clock.set(TONIGHT.replace(hour=23))
    return Term(b, session.id)


def rows(ws) -> list[tuple]:
    return list(ws.iter_rows(min_row=2, values_only=True))


def raw_figures(ws) -> dict[str, object]:
    """The 汇总 rows below the raw-number section title."""
    values = [r for r in ws.iter_rows(min_row=1, values_only=True)]
    start = next(i for i, r in enumerate(values) if r[0] == RAW_SECTION)
    return {r[0]: r[1] for r in values[start + 1:] if r[0] is not None}


async def test_sheets_agree_with_the_report(svc, clock, tmp_path):
    term = await build_term(svc, clock)
    out = tmp_path / "term.xlsx"
    report = await export_term(svc, term.branch_id, None, out, group_members=12)
    assert isinstance(report, Report)
    wb = load_workbook(out)
    assert wb.sheetnames == SHEETS
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        assert all(cell.font.bold for cell in ws[1] if cell.value is not None)

    summary = wb["汇总"]
    figures = report.figures()
    assert rows(summary)[:len(figures)] == figures
    raw = raw_figures(summary)
    assert raw["成员数"] == report.members == 6
    assert raw["群成员数"] == 12
    assert raw["入党积极分子及以上人数"] == report.eligible == 3
    assert raw["达标人数"] == report.reaching_standard
    assert (raw["心愿收集"], raw["心愿认领"], raw["服务完成"]) == (
        report.wishes_posted, report.wishes_claimed, report.wishes_completed) == (2, 1, 1)
    assert (raw["已评价"], raw["满意(≥4)"]) == (report.wishes_rated, report.wishes_satisfied)
    assert (raw["导学举办"], raw["读书笔记"]) == (report.sessions_held, report.notes) == (1, 0)
    assert raw["满意度"] == pytest.approx(report.satisfaction) == 1.0
    assert raw["平均出勤率"] == pytest.approx(report.average_attendance)
    assert raw["积分达标率"] == pytest.approx(report.compliance)
    assert raw["覆盖率"] == pytest.approx(report.coverage) == pytest.approx(6 / 12)
    rates = {r[0].value: r[1] for r in summary.iter_rows(min_row=1) if r[0].value in raw}
    assert rates["平均出勤率"].number_format == PERCENT_FORMAT

    entries = await LedgerRepository(svc.db).term_entries(term.branch_id, report.term.id)
    ledger = rows(wb["积分流水"])
    assert len(ledger) == len(entries) == 6  # 2 for the wish, 3 check-ins, 1 award
    award = next(r for r in ledger if r[3] == "奖惩")
    assert award[1:6] == (PROBATION, "-预备", "奖惩", 3, "+3 布置会场")
    assert award[8] == "1" and award[9] == "2026-11-27 21:05"

    members = {r[0]: r for r in rows(wb["成员"])}
    assert set(members) == {WISHER, HELPER, HELPER2, MASSES, SECRETARY, PROBATION}
    assert members[HELPER][7] == 9 and members[HELPER][8] == "否"  # 2 + 5 + 2 < 20
    assert members[MASSES][8] == "—" and members[SECRETARY][4] == "是"

    wishes = rows(wb["心愿"])
    assert [w[3] for w in wishes] == ["已完成", "待认领"]
    assert wishes[0][5] == 5 and wishes[0][1] == f"许愿人（{WISHER}）"

    [session] = rows(wb["导学"])
    assert session[0] == term.session_id and session[5:8] == (3, 3, 2)
    assert [session[8]] == pytest.approx(report.attendance_rates) == [2 / 3]
    assert wb["导学"]["I2"].number_format == PERCENT_FORMAT

    checkins = rows(wb["签到"])
    assert [(c[1], c[4]) for c in checkins] == [(HELPER, "签到码"), (MASSES, "签到码"),
                                                (HELPER2, "补签")]
    assert checkins[2][5] == f"书记（{SECRETARY}）" and checkins[2][6] == "手机没电"

    assert rows(wb["缺勤"]) == [(PROBATION, "-预备", "4楼", 1, 1, str(term.session_id))]


async def test_user_text_is_never_a_formula(svc, clock, tmp_path):
    term = await build_term(svc, clock)
    out = tmp_path / "term.xlsx"
    await export_term(svc, term.branch_id, None, out)
    wb = load_workbook(out)
    cell = next(c for row in wb["心愿"].iter_rows(min_row=2) for c in row
                if c.value == FORMULA)
    assert cell.data_type == "s"
    risky = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert len(risky) >= 4  # the formula wish, "@全体…", "+3 …", the "-预备" name
    assert all(c.data_type == "s" for c in risky)
    assert not any(c.data_type == "f" for ws in wb.worksheets for row in ws.iter_rows()
                   for c in row)


def test_control_characters_excel_refuses_are_dropped():
    assert safe_text("a\x07b\x00c\td") == "abc\td"
    assert len(safe_text("长" * 40000)) == 32767


async def test_term_by_name_and_unknown_term(svc, clock, tmp_path):
    term = await build_term(svc, clock)
    name = (await svc.branches.current_term(term.branch_id)).name
    report = await export_term(svc, term.branch_id, name, tmp_path / "a.xlsx")
    assert report.term.name == name
    with pytest.raises(NotFound, match="没有找到学期"):
        await export_term(svc, term.branch_id, "不存在的学期", tmp_path / "b.xlsx")
    assert not (tmp_path / "b.xlsx").exists()


async def prepare_db(path) -> None:
    svc = await open_services(BranchConfig(), db_path=str(path))
    try:
        b = (await svc.branches.branch_for_group(7001)).id
        await svc.branches.register(b, 201, "张三", "5楼", "501")
        await svc.branches.set_role(b, OWNER, 201, "正式党员")
        await svc.points.adjust(b, OWNER, 201, 5, "表扬")
    finally:
        await svc.db.close()


async def test_cli_exports_and_reports_errors(tmp_path, capsys):
    db_path = tmp_path / "zhibu.db"
    await prepare_db(db_path)
    out = tmp_path / "out.xlsx"
    # main() runs its own event loop, so give it a thread of its own
    code = await asyncio.to_thread(main, ["--branch", "1", "-o", str(out), "--db", str(db_path)])
    assert code == 0 and out.exists()
    printed = capsys.readouterr().out
    assert "已导出 支部 #1" in printed and "成员 1，流水 1 条" in printed
    assert len(list(load_workbook(out)["积分流水"].iter_rows(min_row=2))) == 1

    code = await asyncio.to_thread(main, ["--branch", "9", "-o", str(tmp_path / "x.xlsx"),
                                          "--db", str(db_path)])
    captured = capsys.readouterr()
    assert code == 2 and "没有找到支部 #9。" in captured.err and "Traceback" not in captured.err
    assert not (tmp_path / "x.xlsx").exists()

    code = await asyncio.to_thread(main, ["--branch", "1", "--term", "#99", "-o", str(out),
                                          "--db", str(db_path)])
    assert code == 2 and "没有找到学期「#99」" in capsys.readouterr().err

    missing = tmp_path / "none.db"
    code = await asyncio.to_thread(main, ["--branch", "1", "-o", str(out), "--db", str(missing)])
    assert code == 2 and "数据库文件不存在" in capsys.readouterr().err
    assert not missing.exists()
