import tempfile
from pathlib import Path

from nonebot import logger
from nonebot.adapters.onebot.v11 import Bot
from nonebot.plugin import PluginMetadata

from runtime.files import upload_file
from runtime.reply import paginate
from runtime.router import Call, Command, Sub, register, usage_of


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


async def show_report(call: Call):
    ctx = call.ctx
    term_word = call.rest() or None
    members = await group_member_count(call.bot, await ctx.svc.branches.groups(ctx.branch.id))
    report = await ctx.svc.reports.build(ctx.branch.id, ctx.actor, term_word, members)
    lines = ["📊 支部工作报告"]  # the branch and the term are the first two rows
    lines += [f"{label}：{value}" for label, value in report.figures()]
    return paginate(lines, ctx.svc.settings.reply_max_chars)


async def export_report(call: Call):
    from tools.export import export_term

    ctx = call.ctx
    branch = ctx.branch
    term_word = call.rest() or None
    members = await group_member_count(call.bot, await ctx.svc.branches.groups(branch.id))
    with tempfile.TemporaryDirectory(prefix="zhibu-export-") as folder:  # removed after upload
        path = Path(folder) / f"branch{branch.id}-{ctx.svc.clock.now():%Y%m%d-%H%M%S}.xlsx"
        report = await export_term(ctx.svc, branch.id, term_word, path, members)
        name = f"{report.term.name}-支部报告.xlsx"
        upload = await upload_file(call.bot, ctx.group_id, ctx.user_id, path, name,
                                   f"python -m tools.export --branch {branch.id} -o 报告.xlsx")
    if upload.where is None:
        return f"表格已生成，但{upload.reason}"
    return f"已上传{upload.where}「{name}」。"


STATS = Command("统计", aliases=("stats",), admin=True, subs=(
    Sub("报告", show_report, "/统计 [学期] —— 支部工作报告（管理员），学期可写名称或 #编号",
        default=True),
    Sub("导出", export_report, "/统计 导出 [学期] —— 导出 Excel 表格并上传到群文件（QQ 端支持时）"),
))

__plugin_meta__ = PluginMetadata(
    name="统计",
    description="支部工作报告：成员、覆盖率、心愿、导学、积分达标率；导出 Excel",
    usage=usage_of(STATS),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["统计", "报告", "导出", "stats", "report"]},
)
register(__plugin_meta__.name, STATS)
