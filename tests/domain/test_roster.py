"""Roster import: reading files, refusing bad rows, what changes, one transaction."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from domain.branches import Actor
from domain.roster import (
    RosterRefused,
    RosterService,
    csv_bytes,
    parse_roster,
)
from domain.spreadsheet import RosterError, read_table

OWNER = Actor(1, is_group_admin=True)


def xlsx_bytes(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_text(rows: list[list]) -> str:
    return "\n".join(",".join(str(c) for c in row) for row in rows) + "\n"


def big_roster(count: int, bad_line: int | None = None) -> str:
    """A header and ``count`` people; line ``bad_line`` (as the spreadsheet counts) has a bad QQ."""
    rows = [["姓名", "QQ", "身份", "楼层", "宿舍", "职务"]]
    for n in range(1, count + 1):
        qq = "12ab" if n + 1 == bad_line else str(90000 + n)
        identity = "正式党员" if n % 3 else "群众"
        rows.append([f"同学{n}", qq, identity, f"{n % 6 + 1}", f"{n}0{n % 4}", ""])
    return csv_text(rows)


@pytest.fixture
async def roster(svc):
    branch = await svc.branches.branch_for_group(5001)
    return RosterService(svc.db, svc.settings, svc.clock), branch.id


def parse(svc, text: str, name: str = "名册.csv", encoding: str = "utf-8"):
    return parse_roster(read_table(text.encode(encoding), name), svc.settings)


async def test_columns_in_any_order_below_a_title_row(svc):
    parsed = parse(svc, "2026 级党员名册,,,\n宿舍,职务,QQ号,姓名,政治面貌,楼层\n"
                        "301,书记,123456,张三,中共党员,3\n302,,234567,李四,积极分子,三楼\n")
    assert [(r.line, r.name, r.user_id, r.identity, r.floor, r.dorm, r.is_secretary)
            for r in parsed.rows] == [(3, "张三", 123456, "正式党员", "3楼", "301", True),
                                      (4, "李四", 234567, "入党积极分子", "3楼", "302", False)]
    assert parsed.refused == []


async def test_every_refused_row_has_its_line_and_why(svc):
    parsed = parse(svc, csv_text([
        ["姓名", "QQ", "身份", "职务"],
        ["张三", "123456", "正式党员", ""],
        ["李四", "1234", "群众", ""],  # line 3: too short
        ["王五", "345678", "神仙", ""],  # line 4: unknown identity
        ["赵六", "123456", "群众", ""],  # line 5: duplicate of line 2
        ["", "456789", "群众", ""],  # line 6: no name
        ["钱七", "567890", "群众", "队长"],  # line 7: unknown post
        ["孙八", "012345", "群众", ""],  # line 8: a QQ number does not start with 0
    ]))
    assert [(r.line, r.reason) for r in parsed.refused] == [
        (2, "QQ号 123456 重复（第 2、5 行）"),
        (3, "QQ号不对：「1234」（应为 5–12 位数字）"),
        (4, "身份不认识：「神仙」（可填：群众、入党积极分子、发展对象、预备党员、正式党员）"),
        (5, "QQ号 123456 重复（第 2、5 行）"),
        (6, "缺少姓名"),
        (7, "职务不认识：「队长」（可填：书记、支委，或留空）"),
        (8, "QQ号不对：「012345」（应为 5–12 位数字）"),
    ]
    assert parsed.rows == []


async def test_gbk_and_utf8_bom_csv_and_xlsx_read_alike(svc):
    rows = [["姓名", "QQ", "身份", "楼层", "宿舍"], ["张三", "123456", "预备党员", "4楼", "401"]]
    text = csv_text(rows)
    for data in (text.encode("gbk"), text.encode("utf-8-sig"), text.encode("utf-8"),
                 csv_bytes(rows)):
        parsed = parse_roster(read_table(data, "名册.CSV"), svc.settings)
        assert [(r.name, r.user_id, r.identity, r.floor) for r in parsed.rows] == [
            ("张三", 123456, "预备党员", "4楼")]
    # Excel keeps a typed QQ number as a float
    book = xlsx_bytes([["QQ", "姓名"], [123456.0, "张三"], [None, None], [234567, "李四"]])
    parsed = parse_roster(read_table(book, "名册.xlsx"), svc.settings)
    assert [(r.line, r.user_id) for r in parsed.rows] == [(2, 123456), (4, 234567)]


async def test_unreadable_files_are_refused_as_a_whole(svc):
    with pytest.raises(RosterError, match="另存为"):
        read_table(b"whatever", "名册.xls")
    with pytest.raises(RosterError, match="无法读取"):
        read_table(b"not a zip", "名册.xlsx")
    with pytest.raises(RosterError, match="表头"):
        parse(svc, "名字,电话\n张三,1\n")


async def test_preview_tells_added_changed_unchanged_and_absent(svc, roster):
    service, b = roster
    await svc.branches.register(b, 123456, "张三", "3楼", "301")
    await svc.branches.set_role(b, OWNER, 123456, "入党积极分子")
    await svc.branches.register(b, 234567, "李四", "3楼", "302")
    await svc.branches.register(b, 345678, "王五", "5楼", "501")
    await svc.branches.register(b, 999999, "不在名册", None, None)
    await svc.branches.register(b, 456789, "已移除", None, None)
    await svc.branches.remove(b, OWNER, 456789)
    plan = await service.preview(b, parse(svc, csv_text([
        ["姓名", "QQ", "身份", "楼层", "宿舍", "职务"],
        ["张三", "123456", "预备党员", "3", "301", "支委"],  # identity up, becomes 支委
        ["李四", "234567", "", "", "", ""],  # blank cells keep what is there
        ["王五", "345678", "群众", "5楼", "501", ""],
        ["新同学", "567890", "", "6楼", "601", ""],
        ["已移除", "456789", "", "", "", ""],
    ])))
    assert [c.write.user_id for c in plan.added] == [567890, 456789]
    assert plan.added[0].write.identity == "群众" and plan.added[1].reactivated
    assert [(c.write.user_id, c.changes) for c in plan.changed] == [
        (123456, ("身份 入党积极分子→预备党员", "支委 否→是"))]
    assert [r.user_id for r in plan.unchanged] == [234567, 345678]
    assert [m.user_id for m in plan.absent] == [999999]
    text = "\n".join(plan.lines())
    assert "新增 2 人，更新 1 人，不变 2 人，拒绝 0 行" in text
    assert "第 5 行 新同学（567890）群众 6楼 601" in text
    assert "重新启用已移除的档案" in text
    assert "支部里另有 1 人不在名册中" in text
    assert (await svc.branches.member(b, 123456)).identity == "入党积极分子"  # nothing written


async def test_apply_writes_profiles_and_a_later_register_keeps_identity(svc, roster):
    service, b = roster
    plan = await service.apply(b, parse(svc, csv_text([
        ["姓名", "QQ", "身份", "楼层", "宿舍", "职务"],
        ["张三", "123456", "发展对象", "3楼", "301", "书记、支委"],
    ])))
    assert plan.applied and len(plan.added) == 1
    member = await svc.branches.member(b, 123456)
    assert (member.name, member.identity, member.is_secretary, member.is_committee,
            member.floor) == ("张三", "发展对象", True, True, "3楼")
    assert await svc.branches.is_admin(b, Actor(123456))
    await svc.branches.register(b, 123456, "张小三", "4楼", "402")
    member = await svc.branches.member(b, 123456)
    assert (member.name, member.floor, member.dorm, member.identity, member.is_secretary) == (
        "张小三", "4楼", "402", "发展对象", True)
    # the 职务 column is authoritative: a blank cell takes the post away
    await service.apply(b, parse(svc, "姓名,QQ,职务\n张三,123456,\n"))
    member = await svc.branches.member(b, 123456)
    assert (member.name, member.is_secretary, member.identity) == ("张三", False, "发展对象")


async def test_a_bad_row_90_leaves_rows_1_to_89_unapplied(svc, roster):
    service, b = roster
    parsed = parse(svc, big_roster(150, bad_line=91))  # the 90th person, on line 91
    assert [r.line for r in parsed.refused] == [91] and len(parsed.rows) == 149
    with pytest.raises(RosterRefused) as refused:
        await service.apply(b, parsed)
    assert len(refused.value.plan.added) == 149
    assert await svc.db.fetchval("SELECT COUNT(*) FROM members WHERE branch_id = ?", (b,)) == 0
    # asked to skip the bad row, the other 149 land
    plan = await service.apply(b, parsed, skip_refused=True)
    assert len(plan.added) == 149 and [r.line for r in plan.refused] == [91]
    assert await svc.db.fetchval("SELECT COUNT(*) FROM members WHERE branch_id = ?", (b,)) == 149


async def test_a_failure_while_writing_row_90_rolls_back_rows_1_to_89(svc, roster):
    service, b = roster
    # the database itself refuses the 90th person (as a full disk or a broken constraint would)
    await svc.db.execute("CREATE TEMP TRIGGER refuse_90 BEFORE INSERT ON members "
                         "WHEN NEW.user_id = 90090 BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    parsed = parse(svc, big_roster(150))
    assert not parsed.refused
    with pytest.raises(Exception, match="disk full"):
        await service.apply(b, parsed)
    assert await svc.db.fetchval("SELECT COUNT(*) FROM members WHERE branch_id = ?", (b,)) == 0


async def test_export_reads_back_unchanged(svc, roster):
    service, b = roster
    await service.apply(b, parse(svc, big_roster(20)))
    await svc.branches.set_role(b, OWNER, 90001, "书记")
    rows = await service.export_rows(b)
    assert rows[0] == ["姓名", "QQ", "身份", "楼层", "宿舍", "职务"] and len(rows) == 21
    assert ["同学1", "90001", "正式党员", "2楼", "101", "书记"] in rows
    again = parse_roster(read_table(csv_bytes(rows), "名册.csv"), svc.settings)
    plan = await service.preview(b, again)
    assert (len(plan.added), len(plan.changed), len(plan.unchanged)) == (0, 0, 20)


async def test_unknown_branch_is_named(svc, roster):
    service, _ = roster
    with pytest.raises(Exception, match="没有找到支部 #99"):
        await service.preview(99, parse(svc, "姓名,QQ\n张三,123456\n"))


async def test_a_political_status_never_lowers_a_recorded_stage(svc, roster):
    service, b = roster
    stages = {20011: "入党积极分子", 20012: "发展对象", 20013: "预备党员", 20014: "群众"}
    for uid, stage in stages.items():
        await svc.branches.register(b, uid, f"同学{uid}", "1楼", "101")
        if stage != "群众":
            await svc.branches.set_role(b, OWNER, uid, stage)
    parsed = parse(svc, csv_text([
        ["姓名", "QQ", "政治面貌", "楼层", "宿舍"],
        ["同学20011", "20011", "共青团员", "1楼", "101"],  # an activist who is in the League
        ["同学20012", "20012", "群众", "1楼", "101"],
        ["同学20013", "20013", "", "1楼", "101"],  # blank: kept, as always
        ["同学20014", "20014", "共青团员", "1楼", "101"],  # 群众 stays 群众: nothing to say
    ]))
    plan = await service.preview(b, parsed)
    assert plan.changed == [] and len(plan.unchanged) == 4
    text = "\n".join(plan.lines())
    assert "保留身份" in text and "/成员 设置" in text
    assert "第 2 行 同学20011（20011）：表中“共青团员”，保持 入党积极分子" in text
    assert "第 3 行 同学20012（20012）：表中“群众”，保持 发展对象" in text
    assert "20013" not in text and "20014" not in text
    await service.apply(b, parsed)
    for uid, stage in stages.items():
        assert (await svc.branches.member(b, uid)).identity == stage
    # only a stage changes a stage, lower ones too
    plan = await service.apply(b, parse(svc, csv_text([
        ["姓名", "QQ", "身份"], ["同学20012", "20012", "积极分子"],
        ["同学20014", "20014", "中共预备党员"]])))
    assert [(c.write.user_id, c.changes) for c in plan.changed] == [
        (20012, ("身份 发展对象→入党积极分子",)), (20014, ("身份 群众→预备党员",))]
    assert plan.kept_stage == []


async def test_full_width_qq_numbers_are_read_and_a_footer_is_not_a_member(svc):
    parsed = parse(svc, csv_text([
        ["姓名", "QQ", "身份"],
        ["张三", "２００１３", "群众"],
        ["李四", "", "群众"],  # inside the table: still refused
        ["王五", "20015", "群众"],
        ["", "", ""],
        ["制表人：陈书记", "", ""],
        ["", "", "2026年9月"],
    ]))
    assert [(r.line, r.user_id) for r in parsed.rows] == [(2, 20013), (4, 20015)]
    assert [(r.line, r.reason) for r in parsed.refused] == [(3, "缺少QQ号")]
