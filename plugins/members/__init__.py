from nonebot.plugin import PluginMetadata

from domain.branches import (
    IDENTITY_SHORT,
    LEADER_WORDS,
    ROLE_WORDS,
    SKILLS_CLEAR,
    SKILLS_OFF,
    SKILLS_ON,
)
from domain.floors import normalize_floor
from domain.posts import describe
from runtime.args import Mention, not_a_qq, person, word
from runtime.reply import paginate
from runtime.router import Call, Command, Sub, Usage, register, usage_of

from .roster import export_roster, import_roster


async def register_profile(call: Call):
    words = [t for t in call.tokens if isinstance(t, str)]
    if not 1 <= len(words) <= 3:
        raise Usage()
    name, floor, dorm = [*words, None, None][:3]
    ctx = call.ctx
    member = await ctx.svc.branches.register(ctx.branch.id, ctx.user_id, name, floor, dorm)
    where = " ".join(x for x in (member.floor, member.dorm) if x)
    where = f"（{where}）" if where else ""
    return f"已登记：{member.name}{where}，身份：{member.titles}。"


async def show_me(call: Call):
    if call.tokens:
        raise Usage()
    ctx = call.ctx
    seen = await ctx.svc.overview.of_member(ctx.branch.id, ctx.user_id)
    member, summary = seen.member, seen.summary
    if seen.removed is not None:
        lines = [f"{seen.removed.name}（{seen.removed.user_id}），你的档案已被管理员从本支部移除，"
                 "积分记录保留，但不再参加排名。如有误请联系支委，或发送 /登记 <姓名> [楼层] "
                 "[宿舍] 重新登记。"]
    elif member is None:
        lines = ["你还没有登记，发送 /登记 <姓名> [楼层] [宿舍] 建立档案。"]
    else:
        where = " ".join(x for x in (member.floor, member.dorm) if x) or "未填楼层宿舍"
        lines = [f"{member.name}（{member.user_id}）· {member.titles} · {where}"]
    rank = f"第 {summary.rank} 名" if summary.rank else "暂无排名"
    if seen.removed is not None:
        rank = "已移除，不参加排名"
    lines.append(f"{summary.term.name}积分：{summary.total}（{rank}）")
    if seen.honours:
        lines.append("荣誉：" + "；".join(f"{term}{field}微典型" for term, field in seen.honours))
    if seen.partner is not None:
        partner_id, helping = seen.partner
        names = await ctx.names([partner_id])
        role = "我帮扶" if helping else "帮扶我的是"
        lines.append(f"结对：{role} {names[partner_id]}")
    if seen.posts:
        lines.append("岗位：" + "、".join(describe(p) for p in seen.posts))
    if member is not None:
        skills = "、".join(seen.skills) or "未填写（/成员 特长 <标签…>）"
        lines.append(f"特长：{skills}" + ("" if seen.matching or not seen.skills
                                         else "（心愿匹配通知已关闭）"))
    wishes, claims = seen.wishes, seen.claims
    open_wishes = [w for w in wishes if w.state.is_active]
    open_claims = [w for w in claims if w.state.is_active]
    lines.append(f"我的进行中心愿：{len(open_wishes)} 个" + "".join(
        f"\n  #{w.id} {w.state.label}" for w in open_wishes))
    lines.append(f"我的进行中认领：{len(open_claims)} 个" + "".join(
        f"\n  #{w.id} {w.state.label}" for w in open_claims))
    return "\n".join(lines)


async def set_member_role(call: Call):
    tokens = call.tokens
    target, role = person(tokens[0] if tokens else None), word(tokens, 1)
    if target is None or role is None or len(tokens) != 2:
        raise Usage(not_a_qq(tokens[0]) if tokens else None)
    ctx = call.ctx
    member = await ctx.svc.branches.set_role(ctx.branch.id, ctx.actor, target, role)
    if role == "组长":
        return f"{member.name}（{member.user_id}）现在是{member.floor}党小组组长。"
    if role in LEADER_WORDS:
        return f"{member.name}（{member.user_id}）不再是党小组组长。"
    return f"{member.name}（{member.user_id}）现在是：{member.titles}。"


async def remove_member(call: Call):
    target = person(call.tokens[0]) if len(call.tokens) == 1 else None
    if target is None:
        raise Usage(not_a_qq(call.tokens[0]) if call.tokens else None)
    ctx = call.ctx
    removed = await ctx.svc.branches.remove(ctx.branch.id, ctx.actor, target)
    return f"已移除 {removed.name}（{removed.user_id}）的档案，积分记录保留。"


async def list_members(call: Call):
    floor = word(call.tokens, 0)
    if len(call.tokens) > 1:
        raise Usage()
    ctx = call.ctx
    members = await ctx.svc.branches.list_members(ctx.branch.id, ctx.actor, floor)
    if not members:
        return "还没有成员登记。" if floor is None else f"{normalize_floor(floor)} 没有成员。"
    leaders = await ctx.svc.branches.floor_leaders(ctx.branch.id)
    names = {m.user_id: m.name for m in members}
    lines = [f"成员 {len(members)} 人"]
    last_floor = last_dorm = object()
    for m in members:
        if m.floor != last_floor:
            leader = leaders.get(m.floor) if m.floor else None
            head = f" · 党小组组长 {names.get(leader, leader)}" if leader else ""
            lines.append(f"【{m.floor or '未填楼层'}{head}】")
            last_floor, last_dorm = m.floor, object()
        if m.dorm != last_dorm:
            lines.append(f"  {m.dorm or '未填宿舍'}")
            last_dorm = m.dorm
        lines.append(f"    {m.name}（{m.user_id}）{m.titles}")
    return paginate(lines, ctx.svc.settings.reply_max_chars)


async def member_skills(call: Call):
    """``/成员 特长 [@某人] [<标签…>|关闭|开启|清空]``: one's own skills; admins anyone's."""
    ctx = call.ctx
    tokens = call.tokens
    target, skip = ctx.user_id, 0
    first = tokens[0] if tokens else None
    if isinstance(first, Mention) or (isinstance(first, str) and len(tokens) > 1
                                      and person(first) is not None):
        target, skip = person(first), 1
    rest = call.rest(skip)
    branches = ctx.svc.branches
    you = "你" if target == ctx.user_id else (await ctx.names([target]))[target]
    if rest in (SKILLS_OFF, SKILLS_ON):
        await branches.set_matching(ctx.branch.id, ctx.actor, target, rest == SKILLS_ON)
        if rest == SKILLS_OFF:
            return f"已关闭{you}的心愿匹配通知，特长仍保留。发送 /成员 特长 开启 可重新打开。"
        return f"已打开{you}的心愿匹配通知：有适合的心愿时会私聊告诉{you}。"
    if rest == SKILLS_CLEAR:
        await branches.set_skills(ctx.branch.id, ctx.actor, target, None)
        return f"已清空{you}的特长。"
    if not rest:
        if target != ctx.user_id:
            await ctx.require_admin()
        tags, matching = await branches.skills(ctx.branch.id, target)
        if not tags:
            return f"{you}还没有填写特长。发送 /成员 特长 高数 英语 电脑维修 …（空格分隔）。"
        return (f"{you}的特长：{'、'.join(tags)}（心愿匹配通知：{'开' if matching else '关'}）。"
                "修改：/成员 特长 <标签…>；关闭通知：/成员 特长 关闭")
    tags = await branches.set_skills(ctx.branch.id, ctx.actor, target, rest)
    _, matching = await branches.skills(ctx.branch.id, target)
    who = "你" if target == ctx.user_id else "TA"
    tail = (f"有适合的心愿时会私聊通知{who}（/成员 特长 关闭 可关闭）。" if matching
            else "心愿匹配通知目前是关闭的，发送 /成员 特长 开启 可打开。")
    return f"已更新{you}的特长：{'、'.join(tags)}。{tail}"


REGISTER = Command("登记", aliases=("register",), subs=(
    Sub(None, register_profile, "/登记 <姓名> [楼层] [宿舍] —— 建立或更新我的档案，"
        "如 /登记 张三 3楼 301"),
))
ME = Command("我的", aliases=("me",), subs=(
    Sub(None, show_me, "/我的 —— 我的身份、积分和心愿", own_branch=True),
))
MEMBER = Command("成员", aliases=("member",), admin=True, subs=(
    Sub("设置", set_member_role, f"/成员 设置 <@某人> <身份> —— 身份：{'、'.join(ROLE_WORDS)}"
        f"（可简写：{'、'.join(IDENTITY_SHORT)}；组长 = 本楼层党小组组长）"),
    Sub("列表", list_members, "/成员 列表 [楼层] —— 按楼层、宿舍列出成员和党小组组长，"
        "楼层写 3、3楼 都可以"),
    Sub("移除", remove_member, "/成员 移除 <@某人> —— 移除档案（积分记录保留）"),
    Sub("导入", import_roster, "/成员 导入 [文件名] —— 预览群文件里最新的名册（.xlsx/.csv："
        "姓名、QQ、身份、楼层、宿舍、职务）；/成员 导入 确认 [跳过错误] —— 执行导入",
        aliases=("import",)),
    Sub("导出", export_roster, "/成员 导出 —— 把名册表格私聊发给你", aliases=("export",)),
    Sub("特长", member_skills, "/成员 特长 [<标签…>|关闭|开启|清空] —— 我的特长，有适合的心愿时"
        "私聊通知我（所有人；管理员可在前面写 @某人）", anyone=True),
))

__plugin_meta__ = PluginMetadata(
    name="成员",
    description="登记个人档案，支委管理成员身份，查看我的信息",
    usage=usage_of(REGISTER, ME, MEMBER),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["成员", "登记", "我的", "member", "register", "me"]},
)
register(__plugin_meta__.name, REGISTER, ME, MEMBER)
