from nonebot import on_command
from nonebot.adapters.onebot.v11 import Message
from nonebot.params import CommandArg
from nonebot.plugin import PluginMetadata

from domain.models import Category
from runtime.args import person, tokenize
from runtime.context import CommandContext, guarded
from runtime.reply import text

USAGE = "/积分 [@某人] —— 本学期总分、分类明细和排名"

__plugin_meta__ = PluginMetadata(
    name="微积分",
    description="积分：出勤、互动、服务、奖惩，按学期统计",
    usage=USAGE,
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["积分", "微积分", "points"]},
)

points_cmd = on_command("积分", aliases={"points"}, priority=10, block=True)


@points_cmd.handle()
@guarded
async def show_points(ctx: CommandContext, arg: Message = CommandArg()):
    branch = ctx.in_branch()
    tokens = tokenize(arg)
    if len(tokens) > 1 or (tokens and person(tokens[0]) is None):
        await points_cmd.finish(text("用法：" + USAGE))
    user_id = person(tokens[0]) if tokens else ctx.user_id
    summary = await ctx.svc.points.summary(branch.id, user_id)
    names = await ctx.svc.branches.names(branch.id, [user_id])
    who = names.get(user_id, str(user_id))
    parts = " · ".join(f"{c.value} {summary.breakdown.get(c.value, 0)}" for c in Category)
    rank = (f"第 {summary.rank}/{summary.ranked} 名" if summary.rank else "暂无排名")
    await points_cmd.finish(text(
        f"{who} {summary.term.name}积分：{summary.total}（{rank}）\n{parts}"
    ))
