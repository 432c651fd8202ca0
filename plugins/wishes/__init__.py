from nonebot import logger, on_command, require
from nonebot.adapters.onebot.v11 import Message
from nonebot.params import CommandArg
from nonebot.plugin import PluginMetadata

from domain.models import Wish
from domain.timeparse import parse_moment
from runtime.args import integer, record_id, rest_text, tokenize, word
from runtime.context import CommandContext, Ctx, guarded
from runtime.lifecycle import on_ready, services
from runtime.reply import mention, shorten, text

require("nonebot_plugin_apscheduler")
from apscheduler.triggers.cron import CronTrigger  # noqa: E402
from nonebot_plugin_apscheduler import scheduler  # noqa: E402

USAGES = {
    "发布": "/许愿 <内容> 或 /心愿 发布 <内容> —— 发布心愿",
    "列表": "/心愿 [列表] [页码] —— 待认领和已认领的心愿",
    "详情": "/心愿 详情 <编号> —— 心愿详情和经过",
    "认领": "/心愿 认领 <编号> —— 认领心愿（入党积极分子及以上）",
    "放弃": "/心愿 放弃 <编号> —— 放弃认领，心愿重新开放",
    "完成": "/心愿 完成 <编号> [说明] —— 标记已服务，请许愿人评价",
    "评价": "/心愿 评价 <编号> <1-5> [评语] —— 许愿人确认并评分",
    "撤回": "/心愿 撤回 <编号> —— 许愿人撤回",
    "关闭": "/心愿 关闭 <编号> [原因] —— 管理员关闭心愿",
    "我的": "/心愿 我的 —— 我发布的和我认领的心愿",
}
USAGE = "\n".join(USAGES.values())

__plugin_meta__ = PluginMetadata(
    name="微心愿",
    description="发布、认领、完成、评价微心愿，服务者获得积分",
    usage=USAGE,
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["心愿", "许愿", "微心愿", "wish"]},
)

wish_post_cmd = on_command("许愿", aliases={"wish"}, priority=10, block=True)
wish_cmd = on_command("心愿", priority=10, block=True)


def usage(action: str) -> Message:
    return text("用法：" + USAGES[action])


async def post_wish(ctx: Ctx, content: str) -> Message:
    branch = ctx.in_branch()
    if not content:
        return usage("发布")
    wish = await ctx.svc.wishes.post(branch.id, ctx.group_id, ctx.user_id, content)
    return text(f"心愿 #{wish.id} 已发布：{wish.content}\n"
                f"符合条件的同学可发送 /心愿 认领 #{wish.id} 认领。")


@wish_post_cmd.handle()
@guarded
async def handle_post(ctx: CommandContext, arg: Message = CommandArg()):
    await wish_post_cmd.finish(await post_wish(ctx, rest_text(arg, 0)))


def _line(wish: Wish, names: dict[int, str]) -> str:
    helper = f" · {names[wish.claimer_id]}" if wish.claimer_id else ""
    return f"#{wish.id} [{wish.state.label}{helper}] {shorten(wish.content)}"


@wish_cmd.handle()
@guarded
async def handle_wish(ctx: CommandContext, arg: Message = CommandArg()):
    branch = ctx.in_branch()
    wishes = ctx.svc.wishes
    tokens = tokenize(arg)
    action = word(tokens, 0)
    page_only = integer(action) if action else None
    if action is None or action == "列表" or (page_only is not None and len(tokens) == 1):
        page_word = word(tokens, 1) if action == "列表" else action
        page = 1 if page_word is None else integer(page_word)
        if page is None or page < 1 or len(tokens) > (2 if action == "列表" else 1):
            await wish_cmd.finish(usage("列表"))
        result = await wishes.list_page(branch.id, page)
        if not result.total:
            await wish_cmd.finish(
                text("现在没有待认领或进行中的心愿。发送 /许愿 <内容> 发布一个吧。")
            )
        names = await ctx.names([w.claimer_id for w in result.wishes])
        lines = [f"心愿（第 {result.page}/{result.pages} 页，共 {result.total} 个）"]
        lines += [_line(w, names) for w in result.wishes]
        if result.page < result.pages:
            lines.append(f"下一页：/心愿 列表 {result.page + 1}")
        await wish_cmd.finish(text("\n".join(lines)))
    if action == "发布":
        await wish_cmd.finish(await post_wish(ctx, rest_text(arg, 1)))
    if action == "我的":
        mine, claims = await wishes.mine(branch.id, ctx.user_id)
        names = await ctx.names([w.claimer_id for w in mine + claims])
        lines = ["我发布的：" + ("无" if not mine else "")] + [_line(w, names) for w in mine]
        lines += ["我认领的：" + ("无" if not claims else "")] + [_line(w, names) for w in claims]
        await wish_cmd.finish(text("\n".join(lines)))
    if action not in USAGES:
        await wish_cmd.finish(text("用法：\n" + USAGE))
    if action == "关闭":
        await ctx.require_admin()

    wish_id = record_id(tokens[1]) if len(tokens) > 1 else None
    if wish_id is None:
        await wish_cmd.finish(usage(action))
    if action == "详情":
        await wish_cmd.finish(await _details(ctx, wish_id))
    if action == "认领":
        wish = await wishes.claim(branch.id, wish_id, ctx.user_id)
        await wish_cmd.finish(text(
            f"认领成功：心愿 #{wish.id}「{shorten(wish.content)}」。"
            f"完成后发送 /心愿 完成 #{wish.id}。"
        ))
    if action == "放弃":
        wish = await wishes.give_up(branch.id, wish_id, ctx.user_id)
        await wish_cmd.finish(text(f"已放弃心愿 #{wish.id}，它重新开放认领。"))
    if action == "完成":
        wish = await wishes.mark_done(branch.id, wish_id, ctx.user_id, rest_text(arg, 2))
        await wish_cmd.finish(mention(
            wish.wisher_id,
            f"你的心愿 #{wish.id} 已由 {(await ctx.names([ctx.user_id]))[ctx.user_id]} 完成服务，"
            f"请发送 /心愿 评价 #{wish.id} <1-5> [评语] 确认并评分。",
        ))
    if action == "评价":
        score = integer(word(tokens, 2))
        if score is None or not 1 <= score <= 5:
            await wish_cmd.finish(usage("评价"))
        done = await wishes.rate(branch.id, wish_id, ctx.user_id, score, rest_text(arg, 3))
        helper = (await ctx.names([done.wish.claimer_id]))[done.wish.claimer_id]
        await wish_cmd.finish(text(
            f"感谢评价！心愿 #{done.wish.id} 已完成（{score} 分），"
            f"{helper} 获得 {done.points} 积分。"
        ))
    if action == "撤回":
        if len(tokens) != 2:
            await wish_cmd.finish(usage("撤回"))
        wish = await wishes.withdraw(branch.id, wish_id, ctx.user_id)
        await wish_cmd.finish(text(f"心愿 #{wish.id} 已撤回。"))
    if action == "关闭":
        wish = await wishes.close(branch.id, wish_id, ctx.actor, rest_text(arg, 2))
        await wish_cmd.finish(text(f"心愿 #{wish.id} 已关闭。"))


async def _details(ctx: Ctx, wish_id: int) -> Message:
    svc = ctx.svc
    wish = await svc.wishes.get(ctx.in_branch().id, wish_id)
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
    return text("\n".join(lines))



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
