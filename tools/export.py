"""Export one term of a branch to an Excel workbook.

    python -m tools.export --branch 1 [--term 名称或#编号] -o out.xlsx [--db data/zhibu.db]
                           [--at "2026-12-01 20:00"]

The export runs on the bot's clock (``CLOCK_OFFSET_SECONDS`` included); on a playground's
database on the playground's own clock (saved by its bot, so ``:skip`` counts); ``--at`` names
the moment outright.

Sheets: 汇总 (the /统计 figures, then raw numbers for checking), 积分流水, 成员, 心愿, 导学,
签到, 缺勤, 读书笔记 (the notes of the term's sessions, in full), 民情 (one row per problem
raised in the term, with every timestamp; the content of privately raised problems included,
as the export is for admins only), 服务 (each member's service in the term by source), 任务
(every assignment of the tasks published or confirmed in the term), 岗位 (the term's posts),
活动 and 出勤, 微党课 (a row per speaker with every score) and 微党课评分 (a row per score, no
scorer for an anonymous round), 微典型 (a row per nomination), 典型案例, 展示页浏览 (visitors per
day), and one sheet per survey started in the term (问卷#N: a row
per response; anonymous surveys have no QQ, name or time column and their rows are in random
order). The figures come
from ``ReportService.build_unchecked``, and every per-row sheet is read in the same database
transaction, so the sheets add up to the report's numbers.

Text typed by users is always written as a string cell (never a formula), so a wish such as
``=HYPERLINK(...)`` cannot turn into a live formula in the spreadsheet.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from config import load_settings
from domain.errors import DomainError
from domain.models import ProblemState, WishState
from domain.posts import KIND_LABELS, area_text
from domain.problems import target_seconds
from domain.report import Report, ServiceCount
from domain.services import Services, open_services
from domain.tasks import STATE_LABELS, TASK_STATE_LABELS, target_text
from storage.ledger import LedgerRepository
from storage.report import ReportRepository
from tools import clock_of_database

TIME_FORMAT = "%Y-%m-%d %H:%M"
PERCENT_FORMAT = "0.0%"
METHOD_LABELS = {"code": "签到码", "open": "无码签到", "manual": "补签"}
RAW_SECTION = "原始数值（核对用）"
EXCEL_TEXT_LIMIT = 32767
MIN_WIDTH, MAX_WIDTH = 6, 60
# column widths are fitted to this many rows: measuring every cell of a 100,000-row sheet
# costs seconds (every character looked up), for a width the first rows already show
WIDTH_SAMPLE_ROWS = 2000
BOLD = Font(bold=True)
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")  # characters Excel refuses in a sheet name
SHEET_NAME_MAX = 31


@dataclass(frozen=True)
class Fraction:
    """A ratio written as a number with a percent format; None leaves the cell empty."""

    value: float | None


@dataclass(frozen=True)
class ExportCounts:
    members: int
    entries: int


def safe_text(text: str) -> str:
    """Drop the control characters Excel refuses and cap at its cell length limit."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:EXCEL_TEXT_LIMIT]


def display_width(value) -> int:
    """Rough column width of a value: CJK and full-width characters count twice."""
    if value is None:
        return 0
    if isinstance(value, Fraction):
        return 7
    text = str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


class SheetWriter:
    """Writes a table: a bold, frozen header row, typed cells and fitted column widths.

    The workbook is write-only (rows stream to disk as they come: a big branch's term is a
    million cells); the first ``WIDTH_SAMPLE_ROWS`` rows wait here until the widths fitted to
    them are set, because a streamed sheet takes its widths before its first row."""

    def __init__(self, ws: WriteOnlyWorksheet, headers: Sequence[str]) -> None:
        self.ws = ws
        self.widths = [display_width(h) for h in headers]
        self.held: list[list] | None = []
        ws.freeze_panes = "A2"
        self.row(*headers, bold=True)

    def row(self, *values, bold: bool = False) -> None:
        cells = [self._cell(value, bold) for value in values]
        if self.held is None:
            self.ws.append(cells)
            return
        for c, value in enumerate(values):
            if c == len(self.widths):
                self.widths.append(0)
            self.widths[c] = max(self.widths[c], display_width(value))
        self.held.append(cells)
        if len(self.held) >= WIDTH_SAMPLE_ROWS:
            self._release()

    def _cell(self, value, bold: bool):
        if isinstance(value, Fraction):
            cell = WriteOnlyCell(self.ws, value.value)
            cell.number_format = PERCENT_FORMAT
        elif isinstance(value, str):
            cell = WriteOnlyCell(self.ws, safe_text(value))
            cell.data_type = "s"  # never a formula, whatever the text starts with
        elif bold:
            cell = WriteOnlyCell(self.ws, value)
        else:
            return value  # numbers and empty cells as they are
        if bold:
            cell.font = BOLD
        return cell

    def blank(self) -> None:
        self.row()

    def _release(self) -> None:
        for c, width in enumerate(self.widths, start=1):
            letter = get_column_letter(c)
            self.ws.column_dimensions[letter].width = min(max(width, MIN_WIDTH) + 2, MAX_WIDTH)
        for cells in self.held or []:
            self.ws.append(cells)
        self.held = None

    def finish(self) -> None:
        if self.held is not None:
            self._release()


def yes_no(flag: bool) -> str:
    return "是" if flag else "否"


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def span(start: int, end: int | None) -> float | None:
    """Hours from ``start`` to ``end`` (None while ``end`` has not happened)."""
    return None if end is None else round((end - start) / 3600, 2)


async def export_term(svc: Services, branch_id: int, term_word: str | None, path: str | Path,
                      group_members: int | None = None) -> Report:
    """Write the term's workbook to ``path``; returns the report its 汇总 sheet shows."""
    report, _ = await _export(svc, branch_id, term_word, path, group_members)
    return report


async def _export(svc: Services, branch_id: int, term_word: str | None, path: str | Path,
                  group_members: int | None) -> tuple[Report, ExportCounts]:
    ledger = LedgerRepository(svc.db)
    repo = ReportRepository(svc.db)
    settings, clock = svc.settings, svc.clock
    async with svc.db.transaction():  # one consistent snapshot for the report and the rows
        report = await svc.reports.build_unchecked(branch_id, term_word, group_members)
        term = report.term
        entries = await ledger.term_entries(branch_id, term.id)
        members = report.roster  # the term's membership as the report counts it
        totals = await ledger.period_totals(branch_id, f"term:{term.id}")
        wishes = await repo.wishes(branch_id, report.since, report.until)
        problems = await repo.problems(branch_id, report.since, report.until,
                                       target_seconds(settings),
                                       min(report.until, clock.timestamp()))
        held_until = min(report.until, clock.timestamp() + 1)
        sessions = await repo.held_sessions(branch_id, report.since, held_until)
        checkins = await repo.attendance([s["id"] for s in sessions])
        notes = await repo.notes([s["id"] for s in sessions])
        people: set[int] = {e.user_id for e in entries}
        people |= {e.operator_id for e in entries if e.operator_id is not None}
        people |= {w[k] for w in wishes for k in ("wisher_id", "claimer_id") if w[k] is not None}
        people |= {s["leader_id"] for s in sessions if s["leader_id"] is not None}
        people |= {c[k] for c in checkins for k in ("user_id", "operator_id") if c[k] is not None}
        people |= {p[k] for p in problems for k in ("reporter_id", "handler_id")
                   if p[k] is not None}
        people |= {n["user_id"] for n in notes}
        names = await svc.branches.names(branch_id, people)
        surveys = await svc.surveys.sheets(branch_id, report.since, report.until)
        tasks = await svc.tasks.repo.sheet_rows(branch_id, report.since, report.until,
                                                min(report.until, clock.timestamp()))
        claims = {c["id"]: c for c in await repo.first_claims(branch_id, report.since,
                                                                report.until)}
        people |= {t[k] for t in tasks for k in ("user_id", "confirmed_by", "created_by")
                   if t[k] is not None}
        people |= {p.user_id for p in report.posts}
        names = await svc.branches.names(branch_id, people)
        activity_sheets = await svc.activities.sheets(branch_id, report.since, report.until)
        activity_sheets += await svc.lectures.sheets(branch_id, report.since, report.until)
        activity_sheets += await svc.exemplars.sheets(branch_id, term, report.since,
                                                      report.until)

    def write() -> None:
        """The workbook from what was read: plain Python, in a thread, so a big branch's
        export (a million cells) does not hold up the bot's other branches."""
        def name_of(uid: int) -> str:
            return names.get(uid, str(uid))

        def person(uid: int | None) -> str | None:
            if uid is None:
                return None
            return f"{names[uid]}（{uid}）" if uid in names else str(uid)

        def when(ts: int | None) -> str | None:
            return clock.format(ts, TIME_FORMAT) if ts is not None else None

        eligible = svc.reports.eligible(members)
        eligible_ids = {m.user_id for m in eligible}
        standard = settings.points_standard
        wb = Workbook(write_only=True)

        # 汇总 -------------------------------------------------------------------------------------
        pf = report.problems
        sheet = SheetWriter(wb.create_sheet("汇总"), ("项目", "数值"))
        for label, value in report.figures():
            sheet.row(label, value)
        sheet.blank()
        sheet.row(RAW_SECTION, None, bold=True)
        raw: list[tuple[str, object]] = [
            ("成员数", report.members),
            ("群成员数", report.group_members),
            (f"{report.eligible_word}人数", report.eligible),
            ("达标人数", report.reaching_standard),
            ("心愿收集", report.wishes_posted),
            ("心愿认领", report.wishes_claimed),
            ("服务完成", report.wishes_completed),
            ("已评价", report.wishes_rated),
            ("满意(≥4)", report.wishes_satisfied),
            ("导学举办", report.sessions_held),
            ("读书笔记", report.notes),
            ("满意度", Fraction(report.satisfaction)),
            ("平均出勤率", Fraction(report.average_attendance)),
            ("积分达标率", Fraction(report.compliance)),
            ("覆盖率", Fraction(report.coverage)),
            ("民情收集", pf.collected),
            ("民情已办结", pf.done),
            ("民情已关闭", pf.closed),
            ("民情已评价", pf.rated),
            ("民情满意(≥4)", pf.satisfied),
            ("民情超时", pf.overdue),
            ("问题解决率", Fraction(pf.resolution_rate)),
            ("民情满意度", Fraction(pf.satisfaction)),
            ("首次响应中位(小时)", rounded(pf.first_response_median)),
            ("首次响应90%(小时)", rounded(pf.first_response_p90)),
            ("解决用时中位(小时)", rounded(pf.resolution_median)),
            ("解决用时90%(小时)", rounded(pf.resolution_p90)),
            ("上学期首次响应中位(小时)", rounded(pf.previous_first_response_median)),
            ("响应速度提升", Fraction(pf.response_improvement)),
            ("投票举办", report.votes.polls),
            ("投票平均参与率", Fraction(report.votes.mean_turnout)),
            ("问卷发放", report.votes.surveys),
            ("问卷邀请人次", report.votes.invited),
            ("问卷回收人次", report.votes.answered),
            ("问卷回收率", Fraction(report.votes.response_rate)),
            ("问卷满意度评分数", len(report.votes.scores)),
            ("问卷满意度均分", rounded(report.votes.satisfaction_mean)),
            ("问卷满意(4–5)占比", Fraction(report.votes.satisfied_share)),
            ("微党课举办", report.lectures.held),
            ("微党课讲者人次", report.lectures.speakers),
            ("微党课评分数", len(report.lectures.scores)),
            ("微党课平均分", rounded(report.lectures.mean)),
            ("微典型自荐", report.exemplars.total.self_nominated),
            ("微典型推荐", report.exemplars.total.peer_nominated),
            ("微典型审核通过", report.exemplars.total.approved),
            ("微典型当选", report.exemplars.total.selected),
            ("典型案例", report.exemplars.cases),
            ("展示页浏览量", report.exemplars.views),
        ]
        service = report.service
        if service is not None:
            raw += [
                ("服务达标人数", service.reaching),
                ("党员服务达标率", Fraction(service.compliance)),
                ("服务·任务", service.total.tasks),
                ("服务·心愿", service.total.wishes),
                ("服务·民情", service.total.problems),
                ("加权服务合计", service.weighted),
            ]
        if report.tasks is not None:
            raw += [
                ("任务发布", report.tasks.published),
                ("任务指派人次", report.tasks.assignments),
                ("任务已确认人次", report.tasks.confirmed),
                ("任务完成率", Fraction(report.tasks.completion)),
                ("任务逾期", report.tasks.overdue),
            ]
        matching = report.matching
        raw += [
            ("由匹配通知的成员认领", matching.by_notified),
            ("匹配认领占比", Fraction(matching.notified_share)),
            ("认领用时中位(小时)", rounded(matching.claim_median)),
            ("上学期认领用时中位(小时)", rounded(matching.previous_claim_median)),
        ]
        for label, value in raw:
            sheet.row(label, value)
        sheet.finish()

        # 积分流水 ---------------------------------------------------------------------------------
        sheet = SheetWriter(wb.create_sheet("积分流水"),
                            ("流水号", "QQ", "姓名", "类别", "分值", "原因", "关联", "撤销流水",
                             "操作人", "时间"))
        for e in entries:
            sheet.row(e.id, e.user_id, name_of(e.user_id), e.category, e.delta, e.reason, e.ref,
                      e.reverses_id, person(e.operator_id), when(e.created_at))
        sheet.finish()

        # 成员 -------------------------------------------------------------------------------------
        sheet = SheetWriter(wb.create_sheet("成员"),
                            ("QQ", "姓名", "身份", "支委", "书记", "楼层", "宿舍", "本学期积分",
                             "是否达标", "党小组组长"))
        for m in members:
            points = totals.get(m.user_id, 0)
            reached = yes_no(points >= standard) if m.user_id in eligible_ids else "—"
            sheet.row(m.user_id, m.name, m.identity, yes_no(m.is_committee), yes_no(m.is_secretary),
                      m.floor, m.dorm, points, reached,
                      yes_no(m.floor is not None and report.leaders.get(m.floor) == m.user_id))
        sheet.finish()

        # 心愿 -------------------------------------------------------------------------------------
        sheet = SheetWriter(wb.create_sheet("心愿"),
                            ("编号", "许愿人", "内容", "状态", "认领人", "评分", "评语",
                             "自动完成", "发布时间", "完成时间", "首次认领用时(小时)",
                             "首次认领人收到匹配通知"))
        for w in wishes:
            claim = claims.get(w["id"])
            sheet.row(w["id"], person(w["wisher_id"]), w["content"], WishState(w["state"]).label,
                      person(w["claimer_id"]), w["rating"], w["rating_comment"],
                      yes_no(bool(w["auto_completed"])), when(w["created_at"]),
                      when(w["completed_at"]),
                      None if claim is None else round(claim["seconds"] / 3600, 2),
                      None if claim is None else yes_no(bool(claim["notified"])))
        sheet.finish()

        # 导学, 签到, 缺勤 -------------------------------------------------------------------------
        present: dict[int, set[int]] = {s["id"]: set() for s in sessions}
        for c in checkins:
            present[c["session_id"]].add(c["user_id"])
        sheet = SheetWriter(wb.create_sheet("导学"),
                            ("编号", "主题", "开始", "结束", "导学人", "到场人数", "应到", "实到",
                             "出勤率"))
        for s in sessions:
            came = present[s["id"]]
            # the same expression as ReportService.build_unchecked, so the rates are identical
            rate = len(came & eligible_ids) / len(eligible_ids) if eligible_ids else None
            sheet.row(s["id"], s["topic"], when(s["starts_at"]), when(s["ends_at"]),
                      person(s["leader_id"]), len(came), len(eligible_ids),
                      len(came & eligible_ids), Fraction(rate))
        sheet.finish()

        sheet = SheetWriter(wb.create_sheet("签到"),
                            ("导学编号", "QQ", "姓名", "时间", "方式", "补签人", "原因"))
        for c in checkins:
            sheet.row(c["session_id"], c["user_id"], name_of(c["user_id"]), when(c["at"]),
                      "导学人" if c["method"] == "manual" and c["operator_id"] is None  # issue 13
                      else METHOD_LABELS.get(c["method"], c["method"]), person(c["operator_id"]),
                      c["reason"])
        sheet.finish()

        # a row per person, not per (session, person): a big branch's term holds hundreds of
        # sessions and thousands of eligible people, which would overflow Excel's 1,048,576 rows
        sheet = SheetWriter(wb.create_sheet("缺勤"),
                            ("QQ", "姓名", "楼层", "应到场次", "缺勤场次", "缺勤的导学编号"))
        for m in eligible:
            missed = [str(s["id"]) for s in sessions if m.user_id not in present[s["id"]]]
            if missed:
                sheet.row(m.user_id, m.name, m.floor, len(sessions), len(missed), "、".join(missed))
        sheet.finish()

        # 读书笔记 ---------------------------------------------------------------------------------
        topics = {s["id"]: s["topic"] for s in sessions}
        sheet = SheetWriter(wb.create_sheet("读书笔记"),
                            ("导学编号", "主题", "QQ", "姓名", "提交时间", "字数", "内容"))
        for n in notes:
            sheet.row(n["session_id"], topics.get(n["session_id"]), n["user_id"],
                      name_of(n["user_id"]), when(n["created_at"]), len(n["content"]), n["content"])
        sheet.finish()

        # 民情 -------------------------------------------------------------------------------------
        sheet = SheetWriter(wb.create_sheet("民情"),
                            ("编号", "分类", "状态", "来源", "匿名", "反映人", "内容", "处理人",
                             "上报去向", "解决说明", "关闭原因", "评分", "评语", "自动办结",
                             "重开次数", "反映时间", "受理时间", "上报时间", "解决时间", "办结时间",
                             "关闭时间", "首次响应(小时)", "解决用时(小时)", "超时"))
        for p in problems:
            closed = p["state"] == ProblemState.CLOSED.value
            sheet.row(p["id"], p["category"], ProblemState(p["state"]).label,
                      "私聊" if p["private"] else f"群 {p['group_id']}",
                      yes_no(bool(p["anonymous"])),
                      person(p["reporter_id"]), p["content"], person(p["handler_id"]),
                      p["escalated_to"], p["solution"], p["close_reason"], p["rating"],
                      p["rating_comment"], yes_no(bool(p["auto_confirmed"])), p["reopen_count"],
                      when(p["raised_at"]), when(p["taken_at"]), when(p["escalated_at"]),
                      when(p["solved_at"]), when(p["done_at"]), when(p["closed_at"]),
                      span(p["raised_at"], p["taken_at"]), span(p["raised_at"], p["solved_at"]),
                      "—" if closed else yes_no(bool(p["overdue"])))
        sheet.finish()

        # 服务, 任务, 岗位 -------------------------------------------------------------------------
        posts_of: dict[int, list[str]] = {}
        for p in report.posts:
            posts_of.setdefault(p.user_id, []).append(KIND_LABELS[p.kind])
        sheet = SheetWriter(wb.create_sheet("服务"),
                            ("QQ", "姓名", "身份", "楼层", "宿舍", "岗位", "任务", "心愿", "民情",
                             "加权服务", "是否达标"))
        for m in members:
            count = report.service_counts.get(m.user_id, ServiceCount())
            reached = (yes_no(svc.reports.reaches_service(count)) if m.user_id in eligible_ids
                       else "—")
            sheet.row(m.user_id, m.name, m.identity, m.floor, m.dorm,
                      "、".join(posts_of.get(m.user_id, [])) or None, count.tasks, count.wishes,
                      count.problems, count.weighted(settings), reached)
        sheet.finish()

        sheet = SheetWriter(wb.create_sheet("任务"),
                            ("编号", "标题", "对象", "积分", "截止", "发布时间", "任务状态",
                             "执行人", "认领", "执行状态", "完成说明", "完成时间", "确认人",
                             "确认时间", "退回次数", "退回原因", "逾期"))
        for t in tasks:
            sheet.row(t["id"], t["title"], target_text(t["target_kind"], t["target"]), t["points"],
                      when(t["due_at"]), when(t["created_at"]), TASK_STATE_LABELS[t["state"]],
                      person(t["user_id"]),
                      None if t["user_id"] is None else yes_no(bool(t["claimed"])),
                      STATE_LABELS.get(t["assignment"]), t["note"], when(t["done_at"]),
                      person(t["confirmed_by"]), when(t["confirmed_at"]), t["returns"],
                      t["return_reason"], yes_no(bool(t["overdue"])))
        sheet.finish()

        sheet = SheetWriter(wb.create_sheet("岗位"), ("QQ", "姓名", "岗位", "名称或范围"))
        for p in report.posts:
            detail = p.title if p.title else area_text(p.floor, p.dorm_from, p.dorm_to) or None
            sheet.row(p.user_id, name_of(p.user_id), KIND_LABELS[p.kind], detail)
        sheet.finish()

        # 活动 and 出勤 (every kind but 导学, which has its own sheets above), 微党课 and
        # 微党课评分,
        # 微典型, 典型案例 and 展示页浏览 ----------------------------------------------------------
        for title, headers, rows in activity_sheets:
            sheet = SheetWriter(wb.create_sheet(title), headers)
            for row in rows:
                sheet.row(*row)
            sheet.finish()

        # 问卷: one sheet per survey; anonymous ones carry no identity or time column --------------
        for survey, headers, rows in surveys:
            title = SHEET_NAME_BAD.sub("", f"问卷#{survey.id} {survey.title}")[:SHEET_NAME_MAX]
            sheet = SheetWriter(wb.create_sheet(title), headers)
            for row in rows:
                sheet.row(*row)
            sheet.finish()

        wb.save(str(path))

    await asyncio.to_thread(write)
    return report, ExportCounts(members=len(members), entries=len(entries))


# command line ------------------------------------------------------------------------------


def parse_args(argv: Iterable[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.export", description="把支部一个学期的数据导出为 Excel 表格。"
    )
    parser.add_argument("--branch", type=int, required=True, help="支部编号")
    parser.add_argument("--term", default=None, help="学期名称或 #编号（默认当前学期）")
    parser.add_argument("-o", "--output", required=True, help="输出的 .xlsx 文件")
    parser.add_argument("--db", default=None,
                        help="数据库文件（默认取环境变量 BRANCH_DB_PATH，再默认 data/zhibu.db）")
    parser.add_argument("--at", default=None,
                        help="按这个时刻导出，如 \"2026-12-01 20:00\"（默认：现在；"
                             "playground 的数据库按它自己的时钟）")
    return parser.parse_args(None if argv is None else list(argv))


async def run(args: argparse.Namespace) -> str:
    settings = load_settings()  # as the bot reads them
    db_path = args.db or os.environ.get("BRANCH_DB_PATH") or settings.branch_db_path
    if not Path(db_path).is_file():  # opening would create (and migrate) an empty database
        raise DomainError(f"数据库文件不存在：{db_path}")
    try:
        clock = clock_of_database(settings, db_path, args.at)
    except ValueError as exc:
        raise DomainError(str(exc)) from exc
    svc = await open_services(settings, clock, db_path=db_path)
    try:
        report, counts = await _export(svc, args.branch, args.term, args.output, None)
    finally:
        await svc.db.close()
    return (f"已导出 支部 #{report.branch_id}「{report.branch_name}」 学期「{report.term.name}」"
            f" 到 {args.output}（截至 {clock.now():%Y-%m-%d %H:%M}）：成员 {counts.members}，"
            f"流水 {counts.entries} 条")


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        print(asyncio.run(run(args)))
    except DomainError as exc:
        print(exc, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"导出失败：{exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
