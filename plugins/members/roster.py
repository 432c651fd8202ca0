"""``/成员 导入`` and ``/成员 导出``: the roster spreadsheet through the group's files."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from domain.errors import DomainError
from domain.roster import RosterRefused, RosterService
from runtime.files import upload_file
from runtime.reply import paginate, send_private
from runtime.roster_files import (
    PendingImport,
    PendingImports,
    download_group_file,
    latest_roster_file,
)
from runtime.router import Call, Usage

PREVIEW_LIMIT = 20  # rows listed per section of a preview; the rest are counted
SKIP_WORDS = ("跳过错误", "跳过")
pending_imports = PendingImports()


def roster_of(call: Call) -> RosterService:
    svc = call.ctx.svc
    return RosterService(svc.db, svc.settings, svc.clock)


async def import_roster(call: Call):
    """Preview the latest roster in the group's files; ``确认`` applies the previewed one."""
    words = [t for t in call.tokens if isinstance(t, str)]
    if len(words) != len(call.tokens):
        raise Usage()
    if words and words[0] == "确认":
        if len(words) > 2 or (len(words) == 2 and words[1] not in SKIP_WORDS):
            raise Usage()
        return await confirm_import(call, skip_refused=len(words) == 2)
    ctx = call.ctx
    branch, settings = ctx.in_branch(), ctx.svc.settings
    found = await latest_roster_file(call.bot, ctx.group_id, branch.id, call.rest() or None)
    data = await download_group_file(call.bot, ctx.group_id, found,
                                     settings.roster_max_kb * 1024, branch.id)
    roster = roster_of(call)
    plan = await roster.preview(branch.id, await roster.parse(data, found.name))
    minutes = settings.roster_confirm_minutes
    if not plan.writes and not plan.refused:
        return f"名册「{found.name}」与现有档案一致，不需要导入。"
    now = ctx.svc.clock.timestamp()
    pending_imports.put(ctx.group_id, PendingImport(
        branch.id, found.name, data, ctx.user_id, now + minutes * 60), now)
    if plan.refused:
        next_step = (f"有 {len(plan.refused)} 行被拒绝：修正后重新上传，再发送 /成员 导入；"
                     f"或在 {minutes} 分钟内发送 /成员 导入 确认 跳过错误，只导入其余的行。")
    else:
        next_step = f"确认无误请在 {minutes} 分钟内发送 /成员 导入 确认。"
    # names, QQ numbers and identities: a secret, privately to the one who asked
    lines = [f"名册「{found.name}」预览（还没有导入）：", *plan.lines(limit=PREVIEW_LIMIT)]
    for page in paginate(lines, settings.reply_max_chars):
        if not await send_private(call.bot, ctx.user_id, ctx.group_id, page, "roster_preview"):
            return (f"名册「{found.name}」：{plan.counts()}。逐行预览含姓名和 QQ 号，只私聊发送，"
                    f"但没能私聊给你：请先加我（QQ {call.bot.self_id}）为好友，再发送 /成员 导入。"
                    f"\n{next_step}")
    return f"名册「{found.name}」：{plan.counts()}。逐行预览已私聊发给你。\n{next_step}"


async def confirm_import(call: Call, *, skip_refused: bool):
    ctx = call.ctx
    branch, svc = ctx.in_branch(), ctx.svc
    pending = pending_imports.take(ctx.group_id, branch.id, svc.clock.timestamp())
    if pending is None:
        raise DomainError(f"没有待确认的名册导入（预览 {svc.settings.roster_confirm_minutes} 分钟内"
                          "有效）。请先发送 /成员 导入 预览。")
    roster = roster_of(call)
    try:
        plan = await roster.apply(branch.id, await roster.parse(pending.data, pending.name),
                                  skip_refused=skip_refused)
    except RosterRefused as exc:
        pending_imports.put(ctx.group_id, pending, svc.clock.timestamp())  # for 确认 跳过错误
        raise DomainError(f"{exc}修正后重新上传再发送 /成员 导入；或发送 /成员 导入 确认 跳过错误"
                          "，只导入其余的行。") from exc
    skipped = f"跳过了被拒绝的 {len(plan.refused)} 行。" if plan.refused else ""
    return (f"已导入名册「{pending.name}」：{plan.counts()}。{skipped}\n"
            "导入的同学不用再 /登记；之后自己 /登记 只会更新姓名、楼层和宿舍，不改身份。")


async def export_roster(call: Call):
    """The roster as .xlsx, sent privately (it holds everyone's QQ number)."""
    if call.tokens:
        raise Usage()
    from tools.roster import write_xlsx

    ctx = call.ctx
    branch = ctx.in_branch()
    rows = await roster_of(call).export_rows(branch.id)
    name = f"{branch.name}-名册-{ctx.svc.clock.now():%Y%m%d}.xlsx"
    with tempfile.TemporaryDirectory(prefix="zhibu-roster-") as folder:  # removed after upload
        path = Path(folder) / f"roster-{branch.id}.xlsx"
        await asyncio.to_thread(write_xlsx, rows, path)
        upload = await upload_file(call.bot, None, ctx.user_id, path, name,
                                   f"python -m tools.roster export --branch {branch.id} "
                                   "-o 名册.xlsx")
    if upload.where is None:
        return upload.reason
    return (f"名册（{len(rows) - 1} 人）已私聊发给你：「{name}」。改好后上传到群文件，"
            "再发送 /成员 导入 即可导回。")
