"""岗位: /岗位 — 党员先锋岗, 党员责任区 and 社区服务观察员; parse, call PostService, format."""

from nonebot.plugin import PluginMetadata

from domain.posts import AREA, KIND_LABELS, KINDS, VANGUARD, area_text, describe, kind_of
from runtime.args import not_a_qq, person, word
from runtime.reply import paginate
from runtime.router import Call, Command, Sub, Usage, register, usage_of


async def list_posts(call: Call):
    if call.tokens:
        raise Usage()
    ctx = call.ctx
    posts = await ctx.svc.posts.list(ctx.branch.id)
    if not posts:
        return ("还没有设置岗位。管理员可发送 /岗位 设置 @某人 先锋岗 <名称>"
                "（或 责任区 3楼 301-310、观察员）。")
    names = await ctx.names([p.user_id for p in posts])
    lines = [f"岗位（共 {len(posts)} 个）"]
    for kind in KINDS:
        held = [p for p in posts if p.kind == kind]
        if not held:
            continue
        lines.append(f"【{KIND_LABELS[kind]}】")
        for p in held:
            what = {VANGUARD: f"：{p.title}",
                    AREA: f"：{area_text(p.floor, p.dorm_from, p.dorm_to)}"}.get(p.kind, "")
            lines.append(f"  {names[p.user_id]}{what}")
    return paginate(lines, ctx.svc.settings.reply_max_chars)


async def set_post(call: Call):
    tokens = call.tokens
    target = person(tokens[0]) if tokens else None
    kind = kind_of(word(tokens, 1))
    if target is None or kind is None:
        raise Usage(not_a_qq(tokens[0]) if tokens else None)
    ctx = call.ctx
    done = await ctx.svc.posts.assign(ctx.branch.id, ctx.actor, target, kind, call.rest(2))
    names = await ctx.names([target])
    text = f"已设置 {names[target]} 为{KIND_LABELS[kind]}：{describe(done.post)}。"
    if done.replaced is not None:
        text += f"（原来是{describe(done.replaced)}）"
    return text


async def cancel_post(call: Call):
    tokens = call.tokens
    target = person(tokens[0]) if tokens else None
    kind = kind_of(word(tokens, 1)) if len(tokens) == 2 else None
    if target is None or len(tokens) > 2 or (len(tokens) == 2 and kind is None):
        raise Usage(not_a_qq(tokens[0]) if tokens else None)
    ctx = call.ctx
    ended = await ctx.svc.posts.cancel(ctx.branch.id, ctx.actor, target, kind)
    names = await ctx.names([target])
    return f"已取消 {names[target]} 的" + "、".join(describe(p) for p in ended) + "。"


POST = Command("岗位", aliases=("post",), subs=(
    Sub("列表", list_posts, "/岗位 [列表] —— 党员先锋岗、党员责任区、社区服务观察员", default=True),
    Sub("设置", set_post, "/岗位 设置 <@某人> 先锋岗 <名称> | 责任区 <楼层> [宿舍范围] | 观察员 "
        "—— 设置岗位（管理员），如 /岗位 设置 @张三 责任区 3楼 301-310", admin=True),
    Sub("取消", cancel_post, "/岗位 取消 <@某人> [先锋岗|责任区|观察员] —— 取消岗位（管理员）",
        admin=True),
))

__plugin_meta__ = PluginMetadata(
    name="岗位",
    description="党员先锋岗、党员责任区（按宿舍）、社区服务观察员",
    usage=usage_of(POST),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["岗位", "先锋岗", "责任区", "观察员", "post"]},
)
register(__plugin_meta__.name, POST)
