"""Roster import and export: the secretary's spreadsheet (姓名, QQ, 身份, 楼层, 宿舍, 职务).

A file is read into a table (in a worker process with limits, ``domain/spreadsheet.py``),
checked row by row (``parse_roster``) and compared with the branch's profiles
(``RosterService.preview``). ``RosterService.apply`` writes the whole file in ONE transaction:
when any row is refused nothing is written, unless the caller asks to skip the refused rows; a
failure half-way rolls every row back.

Rules: columns are found by their header, in any order (a title row above the header is fine);
姓名 and QQ are required. Floors and dorms are written as ``/登记`` writes them (``3`` →
``3楼``). A blank 身份, 楼层 or 宿舍 cell leaves what the profile has (a new profile starts as
群众). Only a stage of joining the Party (入党积极分子, 发展对象, 预备党员, 正式党员) changes a
recorded identity: 群众 or 共青团员 (a 政治面貌 column says 共青团员 for students who are activists)
never lowers a stage already recorded, and the plan says which rows kept theirs. The 职务 column,
when the file has it, is authoritative: a blank cell means neither 支委 nor 书记. Nobody is
removed by an import. Rows after the table's last row with a QQ number that have none (a
footer such as "制表人：…") are not members and are skipped.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from config import IDENTITIES, BranchConfig
from domain.clock import Clock
from domain.errors import DomainError
from domain.floors import normalize_dorm, normalize_floor
from domain.models import Member
from domain.spreadsheet import (
    HEADER_SCAN_ROWS,
    RosterError,
    Table,
    read_table_isolated,
)
from domain.text import clean_text
from storage.database import Database
from storage.roster import RosterRepository, RosterWrite

HEADER = ("姓名", "QQ", "身份", "楼层", "宿舍", "职务")
_HEADER_WORDS = {
    "姓名": "name", "名字": "name",
    "qq": "qq", "qq号": "qq", "qq号码": "qq", "qq账号": "qq",
    "身份": "identity", "政治面貌": "identity",
    "楼层": "floor", "楼": "floor",
    "宿舍": "dorm", "宿舍号": "dorm", "寝室": "dorm", "房间": "dorm",
    "职务": "post", "支部职务": "post", "党内职务": "post",
}
IDENTITY_WORDS = {
    **{i: i for i in IDENTITIES},
    "中共党员": "正式党员", "党员": "正式党员", "中共正式党员": "正式党员",
    "中共预备党员": "预备党员", "积极分子": "入党积极分子", "共青团员": "群众", "团员": "群众",
}
# What a roster cell may say without naming a stage of joining the Party: it never lowers one.
NOT_A_STAGE = "群众"
_NO_POST = {"", "无", "-", "—", "成员", "党员", "普通党员", "群众"}
_POST_SPLIT = re.compile(r"[、,，/;；\s]+")
_QQ = re.compile(r"^[1-9]\d{4,11}$")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what Excel reads as a formula in a CSV


class RosterRefused(DomainError):
    """Rows were refused, so (without skipping them) nothing was written."""

    def __init__(self, plan: RosterPlan) -> None:
        super().__init__(f"名册有 {len(plan.refused)} 行被拒绝，没有导入任何一行。")
        self.plan = plan


# -- checking rows --------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterRow:
    """One accepted row; None means the cell (or the column) was blank: keep what is there."""

    line: int
    user_id: int
    name: str
    identity: str | None
    floor: str | None
    dorm: str | None
    is_secretary: bool | None
    is_committee: bool | None
    identity_word: str = ""  # the 身份 cell as written (共青团员, 中共党员…)


@dataclass(frozen=True)
class Refusal:
    line: int
    reason: str
    who: str = ""  # the row's name or QQ as written, to find it in the file


@dataclass
class ParsedRoster:
    rows: list[RosterRow]
    refused: list[Refusal]
    columns: tuple[str, ...]  # which of HEADER the file has


def _header_key(cell: str) -> str | None:
    word = re.sub(r"[\s*＊:：()（）]|必填", "", cell).casefold()
    return _HEADER_WORDS.get(word)


def _find_header(table: Table) -> tuple[int, dict[str, int]]:
    for index, (_, cells) in enumerate(table[:HEADER_SCAN_ROWS]):
        columns: dict[str, int] = {}
        for c, cell in enumerate(cells):
            key = _header_key(cell)
            if key and key not in columns:
                columns[key] = c
        if "name" in columns and "qq" in columns:
            return index, columns
    raise RosterError("没有找到表头：第一行（或标题下的一行）须有「姓名」和「QQ」两列，"
                      "可选「身份」「楼层」「宿舍」「职务」。")


def _post(text: str) -> tuple[bool, bool] | None:
    """(书记, 支委) from a 职务 cell; None when a word is not understood."""
    secretary = committee = False
    for part in _POST_SPLIT.split(text.strip()):
        if part in _NO_POST:
            continue
        if part in ("书记", "支部书记", "党支部书记"):
            secretary = True
        elif part in ("支委", "副书记", "支部委员", "支委委员") or part.endswith("委员"):
            committee = True
        else:
            return None
    return secretary, committee


def parse_roster(table: Table, settings: BranchConfig) -> ParsedRoster:
    """Check every row; return the accepted rows and the refused ones with why."""
    header_at, columns = _find_header(table)
    limit = settings.name_max_length
    rows: list[RosterRow] = []
    refused: list[Refusal] = []
    lines_of: dict[int, list[int]] = {}

    def cell(cells: list[str], key: str) -> str:
        c = columns.get(key)
        return (clean_text(from_csv_cell(cells[c])).strip() if c is not None and c < len(cells)
                else "")

    def qq_of(cells: list[str]) -> str:  # full-width digits folded, as floors and dorms are
        qq = re.sub(r"\s", "", unicodedata.normalize("NFKC", cell(cells, "qq")))
        return qq[:-2] if qq.endswith(".0") else qq

    body = [(line, cells) for line, cells in table[header_at + 1:]
            if any(str(c).strip() for c in cells)]
    while body and not qq_of(body[-1][1]):  # a footer below the table (制表人：…), no QQ
        body.pop()
    for line, cells in body:
        name, qq = cell(cells, "name"), qq_of(cells)
        who = name or qq
        identity_text, floor, dorm = cell(cells, "identity"), cell(cells, "floor"), cell(cells,
                                                                                          "dorm")
        problem = None
        if not name:
            problem = "缺少姓名"
        elif len(name) > limit:
            problem = f"姓名超过 {limit} 字"
        elif not qq:
            problem = "缺少QQ号"
        elif not _QQ.match(qq):
            problem = f"QQ号不对：「{qq[:20]}」（应为 5–12 位数字）"
        elif identity_text and identity_text not in IDENTITY_WORDS:
            problem = (f"身份不认识：「{identity_text[:20]}」（可填：{'、'.join(IDENTITIES)}）")
        elif len(floor) > limit or len(dorm) > limit:
            problem = f"楼层或宿舍超过 {limit} 字"
        post = _post(cell(cells, "post")) if "post" in columns else (None, None)
        if problem is None and post is None:
            problem = f"职务不认识：「{cell(cells, 'post')[:20]}」（可填：书记、支委，或留空）"
        if problem is not None:
            refused.append(Refusal(line, problem, who))
            continue
        assert post is not None
        user_id = int(qq)
        lines_of.setdefault(user_id, []).append(line)
        rows.append(RosterRow(
            line=line, user_id=user_id, name=name,
            identity=IDENTITY_WORDS[identity_text] if identity_text else None,
            floor=normalize_floor(floor) or None, dorm=normalize_dorm(dorm) or None,
            is_secretary=post[0], is_committee=post[1], identity_word=identity_text,
        ))
    duplicates = {uid: lines for uid, lines in lines_of.items() if len(lines) > 1}
    if duplicates:
        kept = []
        for row in rows:
            lines = duplicates.get(row.user_id)
            if lines is None:
                kept.append(row)
            else:
                where = "、".join(str(n) for n in lines)
                refused.append(Refusal(row.line, f"QQ号 {row.user_id} 重复（第 {where} 行）",
                                       row.name))
        rows = kept
    refused.sort(key=lambda r: r.line)
    present = tuple(h for h, key in zip(HEADER, ("name", "qq", "identity", "floor", "dorm",
                                                  "post"), strict=True) if key in columns)
    return ParsedRoster(rows=rows, refused=refused, columns=present)


# -- comparing with the branch ----------------------------------------------------------------


@dataclass(frozen=True)
class RosterChange:
    row: RosterRow
    write: RosterWrite
    changes: tuple[str, ...]  # e.g. "身份 群众→入党积极分子"; empty for an added person
    reactivated: bool = False


@dataclass(frozen=True)
class KeptStage:
    """A row whose 身份 cell did not name a stage, so the recorded stage was kept."""

    row: RosterRow
    stage: str  # the identity kept


@dataclass
class RosterPlan:
    """What an import would do (or did)."""

    added: list[RosterChange] = field(default_factory=list)
    changed: list[RosterChange] = field(default_factory=list)
    unchanged: list[RosterRow] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    absent: list[Member] = field(default_factory=list)  # in the branch, not in the file
    kept_stage: list[KeptStage] = field(default_factory=list)
    applied: bool = False

    @property
    def writes(self) -> list[RosterWrite]:
        return [c.write for c in (*self.added, *self.changed)]

    def counts(self) -> str:
        return (f"新增 {len(self.added)} 人，更新 {len(self.changed)} 人，"
                f"不变 {len(self.unchanged)} 人，拒绝 {len(self.refused)} 行")

    def lines(self, limit: int | None = None) -> list[str]:
        """The dry-run report, one line per person; ``limit`` caps each list (with a count)."""
        out = [self.counts() + "。"]

        def section(title: str, items: Sequence[str]) -> None:
            if not items:
                return
            out.append(f"{title}（{len(items)}）：")
            shown = items if limit is None else items[:limit]
            out.extend(f"  {item}" for item in shown)
            if len(shown) < len(items):
                out.append(f"  …另有 {len(items) - len(shown)} 条")

        section("拒绝的行", [f"第 {r.line} 行{('（' + r.who + '）') if r.who else ''}：{r.reason}"
                          for r in self.refused])
        section("新增", [f"第 {c.row.line} 行 {_describe(c.write)}"
                       + ("（重新启用已移除的档案）" if c.reactivated else "")
                       for c in self.added])
        section("更新", [f"第 {c.row.line} 行 {c.write.name}（{c.write.user_id}）："
                       + "，".join(c.changes) for c in self.changed])
        section("保留身份（表中写的不是入党阶段，不会降低已登记的身份；确需改为群众请用 "
                "/成员 设置）", [f"第 {k.row.line} 行 {k.row.name}（{k.row.user_id}）：表中"
                               f"“{k.row.identity_word}”，保持 {k.stage}"
                               for k in self.kept_stage])
        if self.absent:
            out.append(f"支部里另有 {len(self.absent)} 人不在名册中，保持不变"
                       "（导入不会移除任何人，移除请用 /成员 移除）。")
        return out


def _describe(w: RosterWrite) -> str:
    titles = "·".join([w.identity, *(t for t, on in (("书记", w.is_secretary),
                                                      ("支委", w.is_committee)) if on)])
    where = " ".join(x for x in (w.floor, w.dorm) if x)
    return f"{w.name}（{w.user_id}）{titles}" + (f" {where}" if where else "")


def _flag(value: bool) -> str:
    return "是" if value else "否"


def plan_roster(parsed: ParsedRoster, existing: Iterable[Member], branch_id: int) -> RosterPlan:
    """Compare the accepted rows with the branch's profiles (removed ones included)."""
    by_id = {m.user_id: m for m in existing}
    plan = RosterPlan(refused=list(parsed.refused))
    in_file = set()
    for row in parsed.rows:
        in_file.add(row.user_id)
        before = keep = by_id.get(row.user_id)
        identity = row.identity or (keep.identity if keep else NOT_A_STAGE)
        if keep is not None and identity == NOT_A_STAGE and keep.identity != NOT_A_STAGE:
            identity = keep.identity  # 群众/共青团员 never lowers a recorded stage
            if row.identity is not None:
                plan.kept_stage.append(KeptStage(row, identity))
        write = RosterWrite(
            branch_id=branch_id, user_id=row.user_id, name=row.name,
            floor=row.floor if row.floor is not None else (keep.floor if keep else None),
            dorm=row.dorm if row.dorm is not None else (keep.dorm if keep else None),
            identity=identity,
            is_secretary=(row.is_secretary if row.is_secretary is not None
                          else bool(keep and keep.active and keep.is_secretary)),
            is_committee=(row.is_committee if row.is_committee is not None
                          else bool(keep and keep.active and keep.is_committee)),
        )
        if before is None or not before.active:
            plan.added.append(RosterChange(row, write, (), reactivated=before is not None))
            continue
        changes = []
        for label, old, new in (("姓名", before.name, write.name),
                                ("身份", before.identity, write.identity),
                                ("楼层", before.floor, write.floor),
                                ("宿舍", before.dorm, write.dorm)):
            if old != new:
                changes.append(f"{label} {old or '空'}→{new or '空'}")
        for label, old, new in (("书记", before.is_secretary, write.is_secretary),
                                ("支委", before.is_committee, write.is_committee)):
            if old != new:
                changes.append(f"{label} {_flag(old)}→{_flag(new)}")
        if changes:
            plan.changed.append(RosterChange(row, write, tuple(changes)))
        else:
            plan.unchanged.append(row)
    plan.absent = [m for m in by_id.values() if m.active and m.user_id not in in_file]
    return plan


# -- the service ------------------------------------------------------------------------------


class RosterService:
    """Preview and apply a roster for one branch; export the branch's roster.

    Callers check who may do this (the chat command is admin-only; the command-line tool is
    for whoever runs the server).
    """

    def __init__(self, db: Database, settings: BranchConfig, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.repo = RosterRepository(db)

    async def parse(self, data: bytes, filename: str) -> ParsedRoster:
        """Read and check a roster file, in a worker process with the settings' limits."""
        settings = self.settings
        table = await read_table_isolated(data, filename, settings.roster_max_rows,
                                          settings.roster_parse_seconds,
                                          settings.roster_parse_memory_mb)
        return parse_roster(table, settings)

    async def _require_branch(self, branch_id: int) -> None:
        if not await self.repo.branch_exists(branch_id):
            raise DomainError(f"没有找到支部 #{branch_id}。")

    async def preview(self, branch_id: int, parsed: ParsedRoster) -> RosterPlan:
        """What ``apply`` would do now; writes nothing."""
        await self._require_branch(branch_id)
        return plan_roster(parsed, await self.repo.members(branch_id), branch_id)

    async def apply(self, branch_id: int, parsed: ParsedRoster, *,
                    skip_refused: bool = False) -> RosterPlan:
        """Write the roster in one transaction; planned inside it, so the plan is what landed.

        Raises ``RosterRefused`` (nothing written) when rows were refused and ``skip_refused``
        is not set.
        """
        await self._require_branch(branch_id)
        async with self.db.transaction():
            plan = plan_roster(parsed, await self.repo.members(branch_id), branch_id)
            if plan.refused and not skip_refused:
                raise RosterRefused(plan)
            await self.repo.write(plan.writes, self.clock.timestamp())
        plan.applied = True
        return plan

    async def export_rows(self, branch_id: int) -> list[list[str]]:
        """The header and one row per active profile (floor, dorm, name order)."""
        await self._require_branch(branch_id)
        rows = [list(HEADER)]
        for m in await self.repo.members(branch_id):
            if not m.active:
                continue
            post = "、".join(t for t, on in (("书记", m.is_secretary), ("支委", m.is_committee))
                            if on)
            rows.append([m.name, str(m.user_id), m.identity, m.floor or "", m.dorm or "", post])
        return rows


def csv_bytes(rows: list[list[str]]) -> bytes:
    """CSV as Excel opens it without asking: UTF-8 with a BOM, CRLF line ends, every cell
    text (``csv_cell``), as the .xlsx export writes every cell as a string."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([[csv_cell(value) for value in row] for row in rows])
    return out.getvalue().encode("utf-8-sig")


def csv_cell(value: str) -> str:
    """A cell Excel shows as text: one starting as a formula would (=, +, -, @, tab, CR) gets
    an apostrophe in front, which the import takes off again (``from_csv_cell``)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def from_csv_cell(value: str) -> str:
    """The cell as written before ``csv_cell`` guarded it."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value
