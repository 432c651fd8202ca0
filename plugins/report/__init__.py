import tempfile
from pathlib import Path

from nonebot import logger
from nonebot.adapters.onebot.v11 import Bot
from nonebot.plugin import PluginMetadata

from domain.problems import split_branch_word
from plugins.sessions.screen import public_url
from runtime import pictures
from runtime.files import upload_file
from runtime.reply import paginate, send_picture, send_private
from runtime.router import Call, Command, Sub, Usage, register, usage_of

PICTURE, TEXT = "图", "文字"
FORMS = (PICTURE, TEXT)


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


def split_form(words: str) -> tuple[str, str | None]:
    """The argument without a last word 图 or 文字, and that word (None: neither)."""
    parts = words.split()
    if parts and parts[-1] in FORMS:
        return " ".join(parts[:-1]), parts[-1]
    return words, None


async def show_report(call: Call):
    ctx = call.ctx
    term_word, form = split_form(call.rest())
    members = await group_member_count(call.bot, await ctx.svc.branches.groups(ctx.branch.id))
    note = None
    if form == PICTURE:
        term = await ctx.svc.branches.find_term(ctx.branch.id, term_word or None)
        note = await send_picture(call.bot, call.event, lambda: pictures.report_card(
            ctx.svc, ctx.branch.id, term, members))
        if note is None:
            return None
    report = await ctx.svc.reports.build(ctx.branch.id, ctx.actor, term_word or None, members)
    lines = [note] if note else []
    lines.append("📊 支部工作报告")  # the branch and the term are the first two rows
    lines += [f"{label}：{value}" for label, value in report.figures()]
    return paginate(lines, ctx.svc.settings.reply_max_chars)


async def page_link(call: Call):
    """``/统计 网页``: a link to the secretary's page, privately, to an admin."""
    ctx = call.ctx
    if ctx.group_id is not None:
        await ctx.require_admin()
        return "支部工作网页的链接只在私聊中发送：请私聊我发送 /统计 网页。"
    branch_no, rest = split_branch_word(call.rest())
    if rest:
        raise Usage()
    link = await ctx.svc.dashboard.create_link(ctx.actor, branch_no)
    hours = ctx.svc.settings.dashboard_link_hours
    message = (f"支部工作网页（#{link.branch.id} {link.branch.name}）："
               f"{public_url(ctx.svc)}{link.url_path}\n"
               f"{hours:g} 小时内有效（到 {ctx.svc.clock.format(link.expires_at)}），只发给你，"
               "请勿转发。过期后再发送 /统计 网页 获取新链接。")
    if not await send_private(call.bot, ctx.user_id, None, message, "dashboard_link"):
        return (f"链接只私聊发给好友，没能发出：请先加我（QQ {call.bot.self_id}）为好友，"
                "再发送 /统计 网页。")
    return None


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


STATS = Command("统计", aliases=("stats",), subs=(
    Sub("报告", show_report, "/统计 [学期] [图|文字] —— 支部工作报告（管理员），学期可写名称或 "
        "#编号；加「图」发成一张图片", default=True, admin=True),
    Sub("导出", export_report, "/统计 导出 [学期] —— 导出 Excel 表格并上传到群文件（QQ 端支持时）",
        admin=True),
    Sub("网页", page_link, "/统计 网页 [支部#N] —— 私聊我获取支部工作网页的链接（支委、书记；"
        "限时有效）", private=True, secret=True),
))

__plugin_meta__ = PluginMetadata(
    name="统计",
    description="支部工作报告：成员、覆盖率、心愿、导学、积分达标率；图片、网页、导出 Excel",
    usage=usage_of(STATS),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["统计", "报告", "导出", "stats", "report"]},
)
register(__plugin_meta__.name, STATS)

from . import dashboard  # noqa: E402, F401  (the secretary's page's web routes)
