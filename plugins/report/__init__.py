from pathlib import Path

from nonebot import logger, on_command
from nonebot.adapters.onebot.v11 import Bot, Message
from nonebot.params import CommandArg
from nonebot.plugin import PluginMetadata

from runtime.args import rest_text, tokenize, word
from runtime.context import CommandContext, Ctx, guarded
from runtime.reply import paginate, text

USAGE = ("/统计 [学期] —— 支部工作报告（管理员），学期可写名称或 #编号\n"
         "/统计 导出 [学期] —— 导出 Excel 表格并上传到群文件（QQ 端支持时）")

__plugin_meta__ = PluginMetadata(
    name="统计",
    description="支部工作报告：成员、覆盖率、心愿、导学、积分达标率；导出 Excel",
    usage=USAGE,
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["统计", "报告", "导出", "stats", "report"]},
)

stats_cmd = on_command("统计", aliases={"stats"}, priority=10, block=True)


async def group_member_count(bot: Bot, groups: list[int]) -> int | None:
    """Members of the branch's groups as the QQ side reports them; None if it cannot say."""
    total = 0
    for group_id in groups:
        try:
            info = await bot.call_api("get_group_info", group_id=group_id)
            total += int(info["member_count"])
        except Exception as exc:
            logger.info(f"no member count for group {group_id}: {exc}")
            return None
    return total


@stats_cmd.handle()
@guarded
async def show_report(bot: Bot, ctx: CommandContext, arg: Message = CommandArg()):
    branch = await ctx.require_admin()
    tokens = tokenize(arg)
    exporting = word(tokens, 0) == "导出"
    term_word = rest_text(arg, 1 if exporting else 0) or None
    members = await group_member_count(bot, await ctx.svc.branches.groups(branch.id))
    if exporting:
        await export_report(bot, ctx, term_word, members)
    report = await ctx.svc.reports.build(branch.id, ctx.actor, term_word, members)
    lines = [f"📊 支部工作报告 · {report.term.name}"]
    lines += [f"{label}：{value}" for label, value in report.figures()]
    pages = paginate(lines, ctx.svc.settings.reply_max_chars)
    for page in pages[:-1]:
        await stats_cmd.send(text(page))
    await stats_cmd.finish(text(pages[-1]))


async def export_report(bot: Bot, ctx: Ctx, term_word: str | None, members: int | None):
    from tools.export import export_term

    branch = ctx.in_branch()
    await ctx.svc.branches.require_admin(branch.id, ctx.actor)
    folder = Path(ctx.svc.settings.branch_db_path).resolve().parent / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"branch{branch.id}-{ctx.svc.clock.now():%Y%m%d-%H%M%S}.xlsx"
    report = await export_term(ctx.svc, branch.id, term_word, path, members)
    name = f"{report.term.name}-支部报告.xlsx"
    try:
        await bot.call_api("upload_group_file", group_id=ctx.group_id, file=str(path), name=name)
    except Exception as exc:
        logger.warning(f"upload_group_file failed: {exc}")
        await stats_cmd.finish(text(
            f"表格已生成（{path.name}），但 QQ 端不支持上传群文件。请在服务器上用命令导出："
            f"python -m tools.export --branch {branch.id} -o 报告.xlsx"
        ))
    await stats_cmd.finish(text(f"已上传群文件「{name}」。"))
