from nonebot import on_command
from nonebot.adapters.onebot.v11 import Message
from nonebot.params import CommandArg
from nonebot.plugin import PluginMetadata

from domain.branches import ROLE_WORDS
from runtime.args import person, tokenize, word
from runtime.context import CommandContext, guarded
from runtime.reply import paginate, text

REGISTER_USAGE = "用法：/登记 <姓名> [楼层] [宿舍]，如 /登记 张三 3楼 301"
MEMBER_USAGE = """/成员 设置 <@某人> <身份> —— 身份：{roles}
/成员 列表 [楼层] —— 按楼层、宿舍列出成员
/成员 移除 <@某人> —— 移除档案（积分记录保留）""".format(roles="、".join(ROLE_WORDS))

__plugin_meta__ = PluginMetadata(
    name="成员",
    description="登记个人档案，支委管理成员身份，查看我的信息",
    usage=f"/登记 <姓名> [楼层] [宿舍] —— 建立或更新我的档案\n/我的 —— 我的身份、积分和心愿\n"
    f"{MEMBER_USAGE}",
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["成员", "登记", "我的", "member", "register", "me"]},
)

register_cmd = on_command("登记", aliases={"register"}, priority=10, block=True)
member_cmd = on_command("成员", aliases={"member"}, priority=10, block=True)
me_cmd = on_command("我的", aliases={"me"}, priority=10, block=True)


@register_cmd.handle()
@guarded
async def register_profile(ctx: CommandContext, arg: Message = CommandArg()):
    branch = ctx.in_branch()
    words = [t for t in tokenize(arg) if isinstance(t, str)]
    if not 1 <= len(words) <= 3:
        await register_cmd.finish(text(REGISTER_USAGE))
    name, floor, dorm = [*words, None, None][:3]
    member = await ctx.svc.branches.register(branch.id, ctx.user_id, name, floor, dorm)
    where = " ".join(x for x in (member.floor, member.dorm) if x)
    await register_cmd.finish(text(
        f"已登记：{member.name}" + (f"（{where}）" if where else "") + f"，身份：{member.titles}。"
    ))


@member_cmd.handle()
@guarded
async def manage_members(ctx: CommandContext, arg: Message = CommandArg()):
    branch = await ctx.require_admin()
    tokens = tokenize(arg)
    action = word(tokens, 0)
    if action == "设置":
        target, role = person(tokens[1] if len(tokens) > 1 else None), word(tokens, 2)
        if target is None or role is None or len(tokens) != 3:
            await member_cmd.finish(text("用法：" + MEMBER_USAGE.splitlines()[0]))
        member = await ctx.svc.branches.set_role(branch.id, ctx.actor, target, role)
        await member_cmd.finish(text(f"{member.name}（{member.user_id}）现在是：{member.titles}。"))
    if action == "移除":
        target = person(tokens[1]) if len(tokens) == 2 else None
        if target is None:
            await member_cmd.finish(text("用法：" + MEMBER_USAGE.splitlines()[2]))
        removed = await ctx.svc.branches.remove(branch.id, ctx.actor, target)
        await member_cmd.finish(
            text(f"已移除 {removed.name}（{removed.user_id}）的档案，积分记录保留。")
        )
    if action == "列表":
        floor = word(tokens, 1)
        if len(tokens) > 2:
            await member_cmd.finish(text("用法：" + MEMBER_USAGE.splitlines()[1]))
        members = await ctx.svc.branches.list_members(branch.id, ctx.actor, floor)
        if not members:
            empty = "还没有成员登记。" if floor is None else f"{floor} 没有成员。"
            await member_cmd.finish(text(empty))
        lines = [f"成员 {len(members)} 人"]
        last_floor = last_dorm = object()
        for m in members:
            if m.floor != last_floor:
                lines.append(f"【{m.floor or '未填楼层'}】")
                last_floor, last_dorm = m.floor, object()
            if m.dorm != last_dorm:
                lines.append(f"  {m.dorm or '未填宿舍'}")
                last_dorm = m.dorm
            lines.append(f"    {m.name}（{m.user_id}）{m.titles}")
        pages = paginate(lines, ctx.svc.settings.reply_max_chars)
        for page in pages[:-1]:
            await member_cmd.send(text(page))
        await member_cmd.finish(text(pages[-1]))
    await member_cmd.finish(text("用法：\n" + MEMBER_USAGE))


@me_cmd.handle()
@guarded
async def show_me(ctx: CommandContext, arg: Message = CommandArg()):
    branch = ctx.in_branch()
    if tokenize(arg):
        await me_cmd.finish(text("用法：/我的"))
    member = await ctx.svc.branches.member(branch.id, ctx.user_id)
    summary = await ctx.svc.points.summary(branch.id, ctx.user_id)
    wishes, claims = await ctx.svc.wishes.mine(branch.id, ctx.user_id)
    if member is None:
        lines = ["你还没有登记，发送 /登记 <姓名> [楼层] [宿舍] 建立档案。"]
    else:
        where = " ".join(x for x in (member.floor, member.dorm) if x) or "未填楼层宿舍"
        lines = [f"{member.name}（{member.user_id}）· {member.titles} · {where}"]
    rank = f"第 {summary.rank} 名" if summary.rank else "暂无排名"
    lines.append(f"{summary.term.name}积分：{summary.total}（{rank}）")
    partner = await ctx.svc.points.partner(branch.id, ctx.user_id)
    if partner is not None:
        partner_id, helping = partner
        names = await ctx.svc.branches.names(branch.id, [partner_id])
        role = "我帮扶" if helping else "帮扶我的是"
        lines.append(f"结对：{role} {names.get(partner_id, partner_id)}")
    open_wishes = [w for w in wishes if w.state.is_active]
    open_claims = [w for w in claims if w.state.is_active]
    lines.append(f"我的进行中心愿：{len(open_wishes)} 个" + "".join(
        f"\n  #{w.id} {w.state.label}" for w in open_wishes))
    lines.append(f"我的进行中认领：{len(open_claims)} 个" + "".join(
        f"\n  #{w.id} {w.state.label}" for w in open_claims))
    await me_cmd.finish(text("\n".join(lines)))
