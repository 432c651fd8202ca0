from nonebot import logger, require
from nonebot.plugin import PluginMetadata

from domain.models import Wish
from domain.timeparse import parse_moment
from runtime.args import integer, record_id, word
from runtime.lifecycle import on_ready, services
from runtime.reply import shorten
from runtime.router import Call, Command, Sub, Usage, register, usage_of

require("nonebot_plugin_apscheduler")
from apscheduler.triggers.cron import CronTrigger  # noqa: E402
from nonebot_plugin_apscheduler import scheduler  # noqa: E402


def _line(wish: Wish, names: dict[int, str]) -> str:
    helper = f" · {names[wish.claimer_id]}" if wish.claimer_id else ""
    return f"#{wish.id} [{wish.state.label}{helper}] {shorten(wish.content)}"


def wish_id(call: Call, expected_tokens: int | None = None) -> int:
    """The wish number after the sub-command, or the usage line."""
    found = record_id(call.tokens[0]) if call.tokens else None
    if found is None or (expected_tokens is not None and len(call.tokens) != expected_tokens):
        raise Usage()
    return found


async def post_wish(call: Call):
    content = call.rest()
    if not content:
        raise Usage()
    wish = await call.ctx.svc.wishes.post(call.ctx.branch.id, call.ctx.group_id,
                                          call.ctx.user_id, content)
    return (f"心愿 #{wish.id} 已发布：{wish.content}\n"
            f"符合条件的同学可发送 /心愿 认领 #{wish.id} 认领。")


async def list_wishes(call: Call):
    tokens = call.tokens
    page = integer(word(tokens, 0)) if tokens else 1
    if page is None or page < 1 or len(tokens) > 1:
        raise Usage()
    ctx = call.ctx
    result = await ctx.svc.wishes.list_page(ctx.branch.id, page)
    if not result.total:
        return "现在没有待认领或进行中的心愿。发送 /许愿 <内容> 发布一个吧。"
    names = await ctx.names([w.claimer_id for w in result.wishes])
    lines = [f"心愿（第 {result.page}/{result.pages} 页，共 {result.total} 个）"]
    lines += [_line(w, names) for w in result.wishes]
    if result.page < result.pages:
        lines.append(f"下一页：/心愿 列表 {result.page + 1}")
    return "\n".join(lines)


async def wish_details(call: Call):
    ctx = call.ctx
    svc = ctx.svc
    wish = await svc.wishes.get(ctx.branch.id, wish_id(call))
    history = await svc.wishes.history(wish)
    names = await ctx.names([wish.wisher_id, wish.claimer_id, *(e.actor_id for e in history)])
    lines = [f"心愿 #{wish.id}【{wish.state.label}】", wish.content,
             f"许愿人：{names[wish.wisher_id]}"]
    if wish.claimer_id:
        lines.append(f"认领人：{names[wish.claimer_id]}")
    if wish.rating:
        comment = f"（{wish.rating_comment}）" if wish.rating_comment else ""
        lines.append(f"评分：{wish.rating} 分{comment}")
    lines.append("经过：")
    for event in history:
        who = names.get(event.actor_id, "系统") if event.actor_id else "系统"
        note = f"：{event.note}" if event.note else ""
        lines.append(f"  {svc.clock.format(event.at)} {who} {event.action}{note}")
    return "\n".join(lines)


async def claim_wish(call: Call):
    wish = await call.ctx.svc.wishes.claim(call.ctx.branch.id, wish_id(call), call.ctx.user_id)
    return (f"认领成功：心愿 #{wish.id}「{shorten(wish.content)}」。"
            f"完成后发送 /心愿 完成 #{wish.id}。")


async def give_up_wish(call: Call):
    wish = await call.ctx.svc.wishes.give_up(call.ctx.branch.id, wish_id(call), call.ctx.user_id)
    return f"已放弃心愿 #{wish.id}，它重新开放认领。"


async def mark_wish_done(call: Call):
    ctx = call.ctx
    # the wisher is @-mentioned through the queue, in the same transaction as the change
    wish = await ctx.svc.wishes.mark_done(ctx.branch.id, wish_id(call), ctx.user_id,
                                          call.rest(1), group_id=ctx.group_id)
    return f"已标记心愿 #{wish.id} 完成服务，已提醒许愿人评价。"


async def rate_wish(call: Call):
    ctx = call.ctx
    target = wish_id(call)
    score = integer(word(call.tokens, 1))
    if score is None:
        raise Usage()
    if not 1 <= score <= 5:
        raise Usage(f"评分只能是 1 到 5 分（你写的是 {score}）。")
    done = await ctx.svc.wishes.rate(ctx.branch.id, target, ctx.user_id, score, call.rest(2))
    helper = (await ctx.names([done.wish.claimer_id]))[done.wish.claimer_id]
    return (f"感谢评价！心愿 #{done.wish.id} 已完成（{score} 分），"
            f"{helper} 获得 {done.points} 积分。")


async def withdraw_wish(call: Call):
    wish = await call.ctx.svc.wishes.withdraw(call.ctx.branch.id, wish_id(call, 1),
                                              call.ctx.user_id)
    return f"心愿 #{wish.id} 已撤回。"


async def close_wish(call: Call):
    ctx = call.ctx
    wish = await ctx.svc.wishes.close(ctx.branch.id, wish_id(call), ctx.actor, call.rest(1))
    return f"心愿 #{wish.id} 已关闭。"


async def my_wishes(call: Call):
    ctx = call.ctx
    mine, claims = await ctx.svc.wishes.mine(ctx.branch.id, ctx.user_id)
    names = await ctx.names([w.claimer_id for w in mine + claims])
    lines = ["我发布的：" + ("无" if not mine else "")] + [_line(w, names) for w in mine]
    lines += ["我认领的：" + ("无" if not claims else "")] + [_line(w, names) for w in claims]
    return "\n".join(lines)


WISH_POST = Command("许愿", aliases=("wish",), subs=(
    Sub(None, post_wish, "/许愿 <内容> 或 /心愿 发布 <内容> —— 发布心愿", creates=True),
))
WISH = Command("心愿", subs=(
    Sub("列表", list_wishes, "/心愿 [列表] [页码] —— 待认领和已认领的心愿", default=True,
        own_branch=True),
    Sub("发布", post_wish, "/心愿 发布 <内容> —— 发布心愿（同 /许愿）", creates=True),
    Sub("详情", wish_details, "/心愿 详情 <编号> —— 心愿详情和经过", own_branch=True),
    Sub("认领", claim_wish, "/心愿 认领 <编号> —— 认领心愿（入党积极分子及以上）"),
    Sub("放弃", give_up_wish, "/心愿 放弃 <编号> —— 放弃认领，心愿重新开放"),
    Sub("完成", mark_wish_done, "/心愿 完成 <编号> [说明] —— 标记已服务，请许愿人评价"),
    Sub("评价", rate_wish, "/心愿 评价 <编号> <1-5> [评语] —— 许愿人确认并评分",
        own_branch=True),
    Sub("撤回", withdraw_wish, "/心愿 撤回 <编号> —— 许愿人撤回"),
    Sub("关闭", close_wish, "/心愿 关闭 <编号> [原因] —— 管理员关闭心愿", admin=True),
    Sub("我的", my_wishes, "/心愿 我的 —— 我发布的和我认领的心愿", own_branch=True),
))

__plugin_meta__ = PluginMetadata(
    name="微心愿",
    description="发布、认领、完成、评价微心愿，服务者获得积分",
    usage=usage_of(WISH_POST, WISH),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["心愿", "许愿", "微心愿", "wish"]},
)
register(__plugin_meta__.name, WISH_POST, WISH)


async def auto_complete_wishes() -> None:
    """Complete, unrated, the wishes whose rating is overdue (the group is told via the queue)."""
    done = await services().wishes.auto_complete_overdue()
    for item in done:
        logger.info(f"wish #{item.wish.id} auto-completed, {item.points} points booked")


async def post_wish_digest() -> None:
    """Daily: the digest of long-unclaimed wishes, and nudges for ratings due."""
    wishes = services().wishes
    digests, nudges = await wishes.queue_digests(), await wishes.queue_rating_nudges()
    logger.info(f"wish digest: {digests} digests and {nudges} rating nudges queued")


@on_ready
async def arm_wish_jobs(svc) -> None:
    """Built-in jobs, re-armed at every start; auto-completion also catches up at once."""
    settings = svc.settings
    scheduler.add_job(
        auto_complete_wishes, "interval", id="wish_auto_complete", replace_existing=True,
        minutes=settings.wish_auto_complete_interval_minutes, coalesce=True,
        misfire_grace_time=None,
    )
    digest_at, _ = parse_moment(settings.wish_digest_time, svc.clock.now())
    scheduler.add_job(
        post_wish_digest, CronTrigger(hour=digest_at.hour, minute=digest_at.minute,
                                      timezone=svc.clock.tz),
        id="wish_digest", replace_existing=True, coalesce=True,
        misfire_grace_time=settings.misfire_grace_minutes * 60,
    )
    await auto_complete_wishes()
