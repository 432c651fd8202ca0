from functools import partial

from nonebot import logger, require
from nonebot.plugin import PluginMetadata

from domain.models import Category
from domain.timeparse import parse_schedule
from runtime import pictures
from runtime.args import integer, not_a_qq, person, record_id, word
from runtime.lifecycle import on_ready, services
from runtime.reply import send_picture
from runtime.router import Call, Command, Sub, Usage, register, usage_of

require("nonebot_plugin_apscheduler")
from nonebot_plugin_apscheduler import scheduler  # noqa: E402


async def show_points(call: Call):
    tokens = call.tokens
    if len(tokens) > 1 or (tokens and person(tokens[0]) is None):
        raise Usage(not_a_qq(tokens[0]) if len(tokens) == 1 else None)
    ctx = call.ctx
    user_id = person(tokens[0]) if tokens else ctx.user_id
    summary = await ctx.svc.points.summary(ctx.branch.id, user_id)
    names = await ctx.names([user_id])
    parts = " · ".join(f"{c.value} {summary.breakdown.get(c.value, 0)}" for c in Category)
    rank = f"第 {summary.rank}/{summary.ranked} 名" if summary.rank else "暂无排名"
    return f"{names[user_id]} {summary.term.name}积分：{summary.total}（{rank}）\n{parts}"


async def show_statement(call: Call):
    tokens = call.tokens
    page = integer(word(tokens, 0)) if len(tokens) == 1 else (1 if not tokens else None)
    if page is None or page < 1:
        raise Usage()
    ctx = call.ctx
    entries, page, pages = await ctx.svc.points.statement(ctx.branch.id, ctx.user_id, page)
    if not entries:
        return "你还没有积分流水。"
    lines = [f"积分明细（第 {page}/{pages} 页）"]
    lines += [f"#{e.id} {ctx.svc.clock.format(e.created_at)} {e.category} {e.delta:+d} "
              f"{e.reason}" for e in entries]
    if page < pages:
        lines.append(f"下一页：/积分 明细 {page + 1}")
    return "\n".join(lines)


async def adjust_points(call: Call):
    tokens = call.tokens
    target = person(tokens[0]) if tokens else None
    delta = integer(word(tokens, 1))
    reason = " ".join(t for t in tokens[2:] if isinstance(t, str))
    if target is None or delta is None or not reason:
        raise Usage(not_a_qq(tokens[0]) if tokens else None)
    ctx = call.ctx
    entry = await ctx.svc.points.adjust(ctx.branch.id, ctx.actor, target, delta, reason)
    names = await ctx.names([target])
    return f"已为 {names[target]} 记 {entry.delta:+d} 分（奖惩，流水 #{entry.id}）：{entry.reason}"


async def reverse_entry(call: Call):
    entry_id = record_id(call.tokens[0]) if call.tokens else None
    if entry_id is None:
        raise Usage()
    ctx = call.ctx
    reversal = await ctx.svc.points.reverse(ctx.branch.id, ctx.actor, entry_id, call.rest(1))
    names = await ctx.names([reversal.user_id])
    return (f"已撤销流水 #{entry_id}：{names[reversal.user_id]} {reversal.delta:+d} 分"
            f"（流水 #{reversal.id}）。")


async def show_board(call: Call):
    tokens = list(call.tokens)
    form = tokens.pop() if tokens and word(tokens, len(tokens) - 1) in ("图", "文字") else None
    period = word(tokens, 0) or "学期"
    if len(tokens) > 1 or period not in ("周", "月", "学期", "总"):
        raise Usage()
    ctx = call.ctx
    board = await ctx.svc.points.board(ctx.branch.id, period, ctx.user_id)
    if not board.rows:
        return f"{board.label}积分榜还没有人上榜。"
    lines = []
    if form == "图":
        note = await send_picture(call.bot, call.event, lambda: pictures.board_picture(
            ctx.svc, f"#{ctx.branch.id} {ctx.branch.name}", board, ctx.user_id))
        if note is None:
            return None
        lines.append(note)
    lines.append(f"🏆 {board.label}积分榜（{board.ranked} 人上榜）")
    lines += [f"{rank}. {board.names.get(uid, str(uid))} {total} 分"
              for rank, uid, total in board.rows]
    if board.mine:
        rank, total, _ = board.mine
        lines.append(f"我：第 {rank} 名，{total} 分")
    else:
        lines.append("我：暂未上榜")
    return "\n".join(lines)


async def make_pairs(call: Call):
    tokens = call.tokens
    size = integer(word(tokens, 0)) if tokens else None
    if len(tokens) > 1 or (tokens and (size is None or size < 1)):
        raise Usage()
    ctx = call.ctx
    pairs = await ctx.svc.points.pair(ctx.branch.id, ctx.actor, size)
    names = await ctx.names([u for p in pairs for u in (p.helper_id, p.helped_id)])
    lines = [f"🤝 本学期结对帮扶（{len(pairs)} 对）："]
    if pairs.default is not None:
        lines.insert(0, f"符合条件的成员有 {pairs.eligible} 人，默认的 {pairs.default} 对结不满，"
                        f"结了能结的 {len(pairs)} 对。")
    lines += [f"{i}. {names[p.helper_id]}（{p.helper_total} 分）→ {names[p.helped_id]}"
              f"（{p.helped_total} 分）" for i, p in enumerate(pairs, start=1)]
    lines.append("请结对的同学互相联系，一起参加导学和服务。发送 /我的 可查看自己的结对伙伴。")
    return "\n".join(lines)


async def show_term(call: Call):
    if call.tokens:
        raise Usage()
    ctx = call.ctx
    term = await ctx.svc.branches.current_term(ctx.branch.id)
    terms = await ctx.svc.branches.terms(ctx.branch.id)
    earlier = "、".join(t.name for t in terms if t.id != term.id)
    return (f"当前学期：{term.name}（{ctx.svc.clock.format(term.started_at, '%Y-%m-%d')} 开始）"
            + (f"\n往期：{earlier}" if earlier else ""))


async def start_term(call: Call):
    name = call.rest()
    if not name:
        raise Usage()
    term = await call.ctx.svc.branches.start_term(call.ctx.branch.id, call.ctx.actor, name)
    return f"新学期「{term.name}」已开始，积分榜和报告从现在重新统计。"


POINTS = Command("积分", aliases=("points",), subs=(
    Sub("查询", show_points, "/积分 [@某人] —— 本学期总分、分类明细和排名", default=True,
        own_branch=True),
    Sub("明细", show_statement, "/积分 明细 [页码] —— 我的积分流水，新的在前", own_branch=True),
    Sub("调整", adjust_points, "/积分 调整 <@某人> <±分数> <原因> —— 管理员奖惩（单次不超过上限）",
        admin=True),
    Sub("撤销", reverse_entry,
        "/积分 撤销 <流水号> [原因] —— 管理员撤销一条流水（记一条相反的流水）", admin=True),
))
RANK = Command("积分榜", aliases=("rank",), subs=(
    Sub(None, show_board, "/积分榜 [周|月|学期|总] [图|文字] —— 排行榜和我的名次；"
        "加「图」发成一张图片", own_branch=True),
))
PAIR = Command("结对", aliases=("pair",), admin=True, subs=(
    Sub(None, make_pairs, "/结对 [人数] —— 管理员：本学期积分前 N 名与后 N 名结对帮扶"
        "（不写人数时按默认对数，人不够就结能结的对数）"),
))
TERM = Command("学期", aliases=("term",), subs=(
    Sub("查看", show_term, "/学期 —— 当前学期和往期", default=True, own_branch=True),
    Sub("开始", start_term, "/学期 开始 <名称> —— 管理员开启新学期", admin=True),
))

__plugin_meta__ = PluginMetadata(
    name="微积分",
    description="积分：出勤、互动、服务、奖惩；排行榜、结对帮扶、学期",
    usage=usage_of(POINTS, RANK, PAIR, TERM),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["积分", "微积分", "积分榜", "结对", "学期", "points", "rank"]},
)
register(__plugin_meta__.name, POINTS, RANK, PAIR, TERM)


async def commend_week() -> None:
    queued = await services().points.queue_commendations()
    logger.info(f"weekly commendation: {queued} messages queued")


@on_ready
async def arm_commendation(svc) -> None:
    svc.points.poster = partial(pictures.commendation_poster, svc)  # the weekly poster
    if not svc.settings.commend_enabled:
        return
    schedule, _ = parse_schedule(svc.settings.commend_time, svc.clock.now())
    scheduler.add_job(commend_week, schedule.trigger(svc.clock.tz), id="weekly_commendation",
                      replace_existing=True, coalesce=True,
                      misfire_grace_time=svc.settings.misfire_grace_minutes * 60)
