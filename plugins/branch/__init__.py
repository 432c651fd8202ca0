from nonebot import on_command
from nonebot.adapters.onebot.v11 import Message
from nonebot.params import CommandArg
from nonebot.plugin import PluginMetadata

from runtime.args import record_id, rest_text, tokenize, word
from runtime.context import CommandContext, guarded
from runtime.reply import text

USAGE = """/支部 信息 —— 支部名称、编号、绑定的群和人数
/支部 绑定 <支部编号> —— 把本群并入已有支部（需本群管理员且是该支部支委/书记）
/支部 命名 <名称> —— 修改支部名称（管理员）"""

__plugin_meta__ = PluginMetadata(
    name="支部",
    description="支部信息、绑定楼层群、命名",
    usage=USAGE,
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["支部", "branch"]},
)

branch_cmd = on_command("支部", aliases={"branch"}, priority=10, block=True)


@branch_cmd.handle()
@guarded
async def handle_branch(ctx: CommandContext, arg: Message = CommandArg()):
    tokens = tokenize(arg)
    action = word(tokens, 0) or "信息"
    branch = ctx.in_branch()
    if action in ("信息", "info"):
        info = await ctx.svc.branches.info(branch)
        groups = "、".join(str(g) for g in info["groups"])
        await branch_cmd.finish(text(
            f"支部 #{branch.id}「{branch.name}」\n"
            f"绑定的群：{groups}\n"
            f"当前学期：{info['term'].name}\n"
            f"成员 {info['members']} 人 · 心愿 {info['wishes']} 个"
            f"（已完成 {info['wishes_completed']}）"
        ))
    if action in ("绑定", "bind"):
        target = record_id(tokens[1]) if len(tokens) == 2 else None
        if target is None:
            await branch_cmd.finish(text("用法：/支部 绑定 <支部编号>，如 /支部 绑定 #1"))
        bound = await ctx.svc.branches.bind(ctx.group_id, target, ctx.actor)
        await branch_cmd.finish(text(
            f"本群已并入支部 #{bound.id}「{bound.name}」，之后的心愿、积分等都记在该支部。"
        ))
    if action in ("命名", "rename"):
        await ctx.require_admin()
        name = rest_text(arg, 1)
        if not name:
            await branch_cmd.finish(text("用法：/支部 命名 <名称>"))
        renamed = await ctx.svc.branches.rename(branch, ctx.actor, name)
        await branch_cmd.finish(text(f"支部已改名为「{renamed.name}」。"))
    await branch_cmd.finish(text("用法：\n" + USAGE))
