from nonebot import logger, on_command, require
from nonebot.adapters.onebot.v11 import Message
from nonebot.params import CommandArg
from nonebot.plugin import PluginMetadata

from domain.models import Category
from domain.timeparse import parse_schedule
from runtime.args import integer, person, record_id, rest_text, tokenize, word
from runtime.context import CommandContext, guarded
from runtime.lifecycle import on_ready, services
from runtime.reply import text

require("nonebot_plugin_apscheduler")
from nonebot_plugin_apscheduler import scheduler  # noqa: E402

USAGES = {
    "查询": "/积分 [@某人] —— 本学期总分、分类明细和排名",
    "明细": "/积分 明细 [页码] —— 我的积分流水，新的在前",
    "调整": "/积分 调整 <@某人> <±分数> <原因> —— 管理员奖惩（单次不超过上限）",
    "撤销": "/积分 撤销 <流水号> [原因] —— 管理员撤销一条流水（记一条相反的流水）",
    "积分榜": "/积分榜 [周|月|学期|总] —— 排行榜和我的名次",
    "结对": "/结对 [人数] —— 管理员：本学期积分前 N 名与后 N 名结对帮扶",
    "学期": "/学期 —— 当前学期；/学期 开始 <名称> —— 管理员开启新学期",
}

__plugin_meta__ = PluginMetadata(
    name="微积分",
    description="积分：出勤、互动、服务、奖惩；排行榜、结对帮扶、学期",
    usage="\n".join(USAGES.values()),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["积分", "微积分", "积分榜", "结对", "学期", "points", "rank"]},
)

points_cmd = on_command("积分", aliases={"points"}, priority=10, block=True)
rank_cmd = on_command("积分榜", aliases={"rank"}, priority=10, block=True)
pair_cmd = on_command("结对", aliases={"pair"}, priority=10, block=True)
term_cmd = on_command("学期", aliases={"term"}, priority=10, block=True)


def usage(key: str) -> Message:
    return text("用法：" + USAGES[key])


@points_cmd.handle()
@guarded
async def handle_points(ctx: CommandContext, arg: Message = CommandArg()):
    branch = ctx.in_branch()
    tokens = tokenize(arg)
    action = word(tokens, 0)
    points = ctx.svc.points
    if action in ("调整", "撤销"):
        await ctx.require_admin()
    if action == "明细":
        page = integer(word(tokens, 1)) if len(tokens) == 2 else (1 if len(tokens) == 1 else None)
        if page is None or page < 1:
            await points_cmd.finish(usage("明细"))
        entries, page, pages = await points.statement(branch.id, ctx.user_id, page)
        if not entries:
            await points_cmd.finish(text("你还没有积分流水。"))
        lines = [f"积分明细（第 {page}/{pages} 页）"]
        lines += [f"#{e.id} {ctx.svc.clock.format(e.created_at)} {e.category} {e.delta:+d} "
                  f"{e.reason}" for e in entries]
        if page < pages:
            lines.append(f"下一页：/积分 明细 {page + 1}")
        await points_cmd.finish(text("\n".join(lines)))
    if action == "调整":
        target = person(tokens[1]) if len(tokens) > 1 else None
        delta = integer(word(tokens, 2))
        reason = " ".join(t for t in tokens[3:] if isinstance(t, str))
        if target is None or delta is None or not reason:
            await points_cmd.finish(usage("调整"))
        entry = await points.adjust(branch.id, ctx.actor, target, delta, reason)
        names = await ctx.names([target])
        await points_cmd.finish(text(
            f"已为 {names[target]} 记 {entry.delta:+d} 分（奖惩，流水 #{entry.id}）：{entry.reason}"
        ))
    if action == "撤销":
        entry_id = record_id(tokens[1]) if len(tokens) > 1 else None
        if entry_id is None:
            await points_cmd.finish(usage("撤销"))
        reversal = await points.reverse(branch.id, ctx.actor, entry_id, rest_text(arg, 2))
        names = await ctx.names([reversal.user_id])
        await points_cmd.finish(text(
            f"已撤销流水 #{entry_id}：{names[reversal.user_id]} {reversal.delta:+d} 分"
            f"（流水 #{reversal.id}）。"
        ))
    if len(tokens) > 1 or (tokens and person(tokens[0]) is None):
        await points_cmd.finish(text("用法：\n" + "\n".join(
            USAGES[k] for k in ("查询", "明细", "调整", "撤销"))))
    user_id = person(tokens[0]) if tokens else ctx.user_id
    summary = await points.summary(branch.id, user_id)
    names = await ctx.names([user_id])
    parts = " · ".join(f"{c.value} {summary.breakdown.get(c.value, 0)}" for c in Category)
    rank = f"第 {summary.rank}/{summary.ranked} 名" if summary.rank else "暂无排名"
    await points_cmd.finish(text(
        f"{names[user_id]} {summary.term.name}积分：{summary.total}（{rank}）\n{parts}"
    ))


@rank_cmd.handle()
@guarded
async def show_board(ctx: CommandContext, arg: Message = CommandArg()):
    branch = ctx.in_branch()
    tokens = tokenize(arg)
    period = word(tokens, 0) or "学期"
    if len(tokens) > 1 or period not in ("周", "月", "学期", "总"):
        await rank_cmd.finish(usage("积分榜"))
    board = await ctx.svc.points.board(branch.id, period, ctx.user_id)
    if not board.rows:
        await rank_cmd.finish(text(f"{board.label}积分榜还没有人上榜。"))
    names = await ctx.names([uid for _, uid, _ in board.rows])
    lines = [f"🏆 {board.label}积分榜（{board.ranked} 人上榜）"]
    lines += [f"{rank}. {names[uid]} {total} 分" for rank, uid, total in board.rows]
    if board.mine:
        rank, total, _ = board.mine
        lines.append(f"我：第 {rank} 名，{total} 分")
    else:
        lines.append("我：暂未上榜")
    await rank_cmd.finish(text("\n".join(lines)))


@pair_cmd.handle()
@guarded
async def make_pairs(ctx: CommandContext, arg: Message = CommandArg()):
    branch = await ctx.require_admin()
    tokens = tokenize(arg)
    size = integer(word(tokens, 0)) if tokens else None
    if len(tokens) > 1 or (tokens and (size is None or size < 1)):
        await pair_cmd.finish(usage("结对"))
    pairs = await ctx.svc.points.pair(branch.id, ctx.actor, size)
    names = await ctx.names([u for p in pairs for u in (p.helper_id, p.helped_id)])
    lines = [f"🤝 本学期结对帮扶（{len(pairs)} 对）："]
    lines += [f"{i}. {names[p.helper_id]}（{p.helper_total} 分）→ {names[p.helped_id]}"
              f"（{p.helped_total} 分）" for i, p in enumerate(pairs, start=1)]
    lines.append("请结对的同学互相联系，一起参加导学和服务。发送 /我的 可查看自己的结对伙伴。")
    await pair_cmd.finish(text("\n".join(lines)))


@term_cmd.handle()
@guarded
async def handle_term(ctx: CommandContext, arg: Message = CommandArg()):
    branch = ctx.in_branch()
    tokens = tokenize(arg)
    action = word(tokens, 0)
    if action == "开始":
        await ctx.require_admin()
        name = rest_text(arg, 1)
        if not name:
            await term_cmd.finish(usage("学期"))
        term = await ctx.svc.branches.start_term(branch.id, ctx.actor, name)
        await term_cmd.finish(text(f"新学期「{term.name}」已开始，积分榜和报告从现在重新统计。"))
    if tokens:
        await term_cmd.finish(usage("学期"))
    term = await ctx.svc.branches.current_term(branch.id)
    terms = await ctx.svc.branches.terms(branch.id)
    earlier = "、".join(t.name for t in terms if t.id != term.id)
    await term_cmd.finish(text(
        f"当前学期：{term.name}（{ctx.svc.clock.format(term.started_at, '%Y-%m-%d')} 开始）"
        + (f"\n往期：{earlier}" if earlier else "")
    ))


async def commend_week() -> None:
    queued = await services().points.queue_commendations()
    logger.info(f"weekly commendation: {queued} messages queued")


@on_ready
async def arm_commendation(svc) -> None:
    if not svc.settings.commend_enabled:
        return
    schedule, _ = parse_schedule(svc.settings.commend_time, svc.clock.now())
    scheduler.add_job(commend_week, schedule.trigger(svc.clock.tz), id="weekly_commendation",
                      replace_existing=True, coalesce=True,
                      misfire_grace_time=svc.settings.misfire_grace_minutes * 60)
