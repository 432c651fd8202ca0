from nonebot import require
from nonebot.plugin import PluginMetadata

from domain.errors import DomainError
from domain.exemplars import (
    APPROVE_WORD,
    RETURN_WORD,
    SHOWCASE_PATH,
    STATE_LABELS,
    way,
)
from domain.timeparse import parse_moment
from runtime.args import not_a_qq, person, record_id, word
from runtime.reply import paginate, shorten
from runtime.router import Call, Command, Sub, Usage, register, usage_of

require("plugins.polls")
from plugins.polls import jobs as poll_jobs  # noqa: E402

require("plugins.sessions")
from plugins.sessions.screen import public_url  # noqa: E402

from . import page  # noqa: E402, F401  (the showcase page's web route)

ANONYMOUS_WORD, DEADLINE_WORD, AUTHOR_WORD, CLOSE_WORD = "匿名", "截止", "作者", "关闭"
CASE_PREVIEW = 60  # characters of a case's text in the list


def number(call: Call, index: int = 0) -> int:
    found = record_id(call.tokens[index]) if len(call.tokens) > index else None
    if found is None:
        raise Usage()
    return found


def checked_field(call: Call, word_: str | None) -> str:
    """The field named, or the usage line with the fields listed."""
    try:
        return call.ctx.svc.exemplars.field_of(word_)
    except DomainError as exc:
        raise Usage(str(exc)) from exc


async def list_nominations(call: Call):
    if len(call.tokens) > 1:
        raise Usage()
    ctx = call.ctx
    chosen = checked_field(call, word(call.tokens, 0)) if call.tokens else None
    exemplars = ctx.svc.exemplars
    term, found, names, votes = await exemplars.listing(ctx.branch.id, chosen)
    window = await exemplars.current_call(ctx.branch.id)
    clock = ctx.svc.clock
    if window is None:
        state = "还没有开始征集"
    elif clock.timestamp() < window.closes_at:
        state = f"征集中，{clock.format(window.closes_at)} 截止"
    else:
        state = f"征集已于 {clock.format(window.closes_at)} 截止"
    lines = [f"{term.name}微典型（{state}）"]
    if not found:
        lines.append("还没有推荐。自荐：/典型 自荐 <领域> <事迹>；"
                     "推荐：/典型 推荐 @某人 <领域> <事迹>")
    for name in dict.fromkeys(n.field for n in found):
        lines.append(f"【{name}】")
        for n in (x for x in found if x.field == name):
            got = f" · {votes[n.id]} 票" if n.id in votes else ""
            lines.append(f"  #{n.id} {names[n.nominee_id]}（{way(n)}）{STATE_LABELS[n.state]}"
                         f"{got}")
    return paginate(lines, ctx.svc.settings.reply_max_chars)


async def open_call(call: Call):
    ctx = call.ctx
    text = call.rest()
    if not text:
        raise Usage()
    try:
        closes, rest = parse_moment(text, ctx.svc.clock.now(),
                                    horizon_days=ctx.svc.settings.time_horizon_days)
    except DomainError as exc:
        raise Usage(str(exc)) from exc
    if rest:
        raise Usage()
    window, term = await ctx.svc.exemplars.open_call(ctx.branch.id, ctx.group_id, ctx.actor,
                                                     closes)
    return ctx.svc.exemplars.call_notice(window, term)


async def _nominate(call: Call, nominee: int | None, field_word: str | None, story: str):
    if nominee is None or field_word is None or not story:
        raise Usage(not_a_qq(call.tokens[0]) if nominee is None and call.tokens else None)
    ctx = call.ctx
    chosen = checked_field(call, field_word)
    nomination = await ctx.svc.exemplars.nominate(ctx.branch.id, ctx.user_id, nominee, chosen,
                                                  story)
    names = await ctx.names([nomination.nominee_id])
    return (f"已记录{way(nomination)} #{nomination.id}：{names[nomination.nominee_id]} · "
            f"{nomination.field}，等待支委审核（审核结果会私聊告诉你）。")


async def nominate(call: Call):
    tokens = call.tokens
    return await _nominate(call, person(tokens[0]) if tokens else None, word(tokens, 1),
                           call.rest(2))


async def nominate_self(call: Call):
    return await _nominate(call, call.ctx.user_id, word(call.tokens, 0), call.rest(1))


async def review(call: Call):
    target = number(call)
    verdict = word(call.tokens, 1)
    if verdict not in (APPROVE_WORD, RETURN_WORD):
        raise Usage()
    note = call.rest(2)
    if verdict == RETURN_WORD and not note:
        raise Usage("退回要写明原因。")
    ctx = call.ctx
    nomination = await ctx.svc.exemplars.review(ctx.branch.id, ctx.actor, target,
                                                verdict == APPROVE_WORD, note)
    names = await ctx.names([nomination.nominee_id])
    return (f"推荐 #{nomination.id}（{names[nomination.nominee_id]} · {nomination.field}）"
            f"已{verdict}，已私聊告诉本人和推荐人。")


def parse_vote(call: Call) -> tuple[str | None, object, bool]:
    """``[领域] [截止] [<时间>] [匿名]`` → (field, deadline or None, anonymous)."""
    ctx = call.ctx
    text = call.rest()
    words = text.split()
    anonymous = bool(words) and words[-1] == ANONYMOUS_WORD
    if anonymous:
        words.pop()
    chosen = None
    if words and words[0] in ctx.svc.settings.exemplar_fields:
        chosen = words.pop(0)
    if words and words[0] == DEADLINE_WORD:
        words.pop(0)
        if not words:
            raise Usage()
    closes = None
    if words:
        try:
            closes, rest = parse_moment(" ".join(words), ctx.svc.clock.now(),
                                        horizon_days=ctx.svc.settings.time_horizon_days)
        except DomainError as exc:
            raise Usage(str(exc)) from exc
        if rest:
            raise Usage()
    return chosen, closes, anonymous


async def start_vote(call: Call):
    chosen, closes, anonymous = parse_vote(call)
    ctx = call.ctx
    started = await ctx.svc.exemplars.start_votes(ctx.branch.id, ctx.group_id, ctx.actor,
                                                  chosen, closes, anonymous)
    lines = []
    for _, poll in started.opened:
        poll_jobs.arm(poll)
        lines.append(ctx.svc.polls.announcement(poll).replace("🗳️ 投票", "已发起投票", 1))
    if started.opened:
        lines.append("投票结束（截止或 /投票 结束 <编号>）后自动记录当选人，"
                     "平票由支委 /典型 确定。")
    if started.skipped:
        lines.append("未发起：" + "；".join(started.skipped) + "。")
    return paginate(lines, ctx.svc.settings.reply_max_chars)


async def settle(call: Call):
    target = number(call)
    if len(call.tokens) != 1:
        raise Usage()
    ctx = call.ctx
    nomination = await ctx.svc.exemplars.settle(ctx.branch.id, ctx.actor, target)
    names = await ctx.names([nomination.nominee_id])
    return (f"已确定：{names[nomination.nominee_id]} 为{nomination.field}微典型（推荐 "
            f"#{nomination.id}）。发送 /典型 公示 公布。")


async def publicise(call: Call):
    if call.tokens:
        raise Usage()
    ctx = call.ctx
    done = await ctx.svc.exemplars.publicise(ctx.branch.id, ctx.actor)
    points = ctx.svc.settings.points_exemplar
    lines = [f"已公示 {len(done.exemplars)} 位微典型（发到本支部各群）："
             + "、".join(f"{c.nomination.field} {c.name}" for c in done.exemplars) + "。"]
    if done.newly_booked and points:
        lines.append(f"{done.newly_booked} 人各获得 {points} 积分（荣誉）。")
    if done.pending:
        lines.append("尚未选出：" + "、".join(done.pending) + "。")
    return "\n".join(lines)


async def cases(call: Call):
    ctx = call.ctx
    if not call.tokens:
        return await list_cases(call)
    await ctx.require_admin()
    target = number(call)
    text = call.rest(1)
    first, _, body = text.partition("\n")
    words = first.split()
    author = None
    if AUTHOR_WORD in words:
        at = words.index(AUTHOR_WORD)
        author = person(words[at + 1]) if at + 1 < len(words) else None
        if author is None or at + 2 != len(words):
            raise Usage()
        words = words[:at]
    if not words:
        raise Usage()
    case = await ctx.svc.exemplars.add_case(ctx.branch.id, ctx.actor, target, " ".join(words),
                                            body.strip() or None, author)
    names = await ctx.names([case.author_id, case.nominee_id])
    return (f"已整理为案例 #{case.id}《{case.title}》（{case.field} · {names[case.nominee_id]}，"
            f"作者 {names[case.author_id]}，{len(case.body)} 字）。/典型 案例 查看全部。")


async def list_cases(call: Call):
    ctx = call.ctx
    found, names = await ctx.svc.exemplars.cases(ctx.branch.id)
    if not found:
        return "支部还没有典型案例。管理员可以用 /典型 案例 <推荐编号> <标题> 把事迹整理为案例。"
    lines = [f"典型案例（共 {len(found)} 个，新的在前）："]
    for c in found:
        lines.append(f"案例 #{c.id}《{c.title}》作者 {names[c.author_id]} · {c.field} "
                     f"{names[c.nominee_id]}")
        lines.append(f"  {shorten(c.body, CASE_PREVIEW)}")
    return paginate(lines, ctx.svc.settings.reply_max_chars)


async def mine(call: Call):
    if call.tokens:
        raise Usage()
    ctx = call.ctx
    branch_ids = ([ctx.branch.id] if ctx.branch is not None
                  else await ctx.svc.polls.branches_of(ctx.user_id))
    if not branch_ids:
        return "你还没有在任何支部登记。请先在支部群里 /登记。"
    found, names = await ctx.svc.exemplars.mine(ctx.user_id, branch_ids)
    if not found:
        return "你还没有推荐、自荐或被推荐过微典型。"
    private = ctx.group_id is None
    lines = ["我的微典型推荐（新的在前）："]
    for n in found:
        nominee = names[(n.branch_id, n.nominee_id)]
        if n.self_nominated:
            who = "我自荐"
        elif n.nominee_id == ctx.user_id:
            who = f"{names[(n.branch_id, n.nominator_id)]} 推荐我"
        else:
            who = f"我推荐 {nominee}"
        line = f"#{n.id} {n.field} · {who} · {STATE_LABELS[n.state]}"
        if n.state == "returned":
            line += f"：{n.review_note}" if private else "（原因请私聊我发送 /典型 我的 查看）"
        lines.append(line)
    return paginate(lines, ctx.svc.settings.reply_max_chars)


async def showcase_page(call: Call):
    ctx = call.ctx
    if call.tokens and call.tokens != [CLOSE_WORD]:
        raise Usage()
    exemplars = ctx.svc.exemplars
    if call.tokens:
        await exemplars.close_page(ctx.branch.id, ctx.actor)
        return "展示页已关闭，旧链接从现在起什么也不显示。需要时再发 /典型 展示页 生成新链接。"
    shown, new = await exemplars.page_link(ctx.branch.id, ctx.actor)
    link = f"{public_url(ctx.svc)}{SHOWCASE_PATH}/{shown.token}"
    return ("支部展示页" + ("已生成" if new else "") + "（公开页面，链接不变，可放到学院网站、"
            f"打印张贴）：\n{link}\n"
            "嵌入网页：<iframe src=\"" + link + "\" width=\"100%\" height=\"900\" "
            "style=\"border:0\"></iframe>\n"
            "页面只显示登记的姓名，不显示 QQ 号。关闭：/典型 展示页 关闭（旧链接随即失效）")


EXEMPLAR = Command("典型", aliases=("exemplar",), subs=(
    Sub("列表", list_nominations, "/典型 [列表] [领域] —— 本学期的推荐、审核和评选情况",
        default=True),
    Sub("征集", open_call, "/典型 征集 <截止时间> —— 开始本学期微典型征集（管理员）", admin=True),
    Sub("推荐", nominate, "/典型 推荐 <@某人> <领域> <事迹> —— 推荐一位成员（征集期内，每人每个"
                        "领域每学期一次）", creates=True),
    Sub("自荐", nominate_self, "/典型 自荐 <领域> <事迹> —— 自荐（征集期内）", creates=True),
    Sub("审核", review, "/典型 审核 <编号> 通过|退回 <原因> —— 审核推荐（管理员），结果私聊告诉"
                      "本人和推荐人", admin=True),
    Sub("评选", start_vote, "/典型 评选 [领域] [截止 <时间>] [匿名] —— 在通过审核的候选人中投票"
                          "（管理员，每个领域一个投票）", admin=True, creates=True),
    Sub("确定", settle, "/典型 确定 <编号> —— 平票或只有一位候选人时，由支委确定当选人（管理员）",
        admin=True),
    Sub("公示", publicise, "/典型 公示 —— 公示本学期微典型和事迹，当选者获得积分（管理员）",
        admin=True),
    Sub("案例", cases, "/典型 案例 —— 支部的典型案例\n/典型 案例 <编号> <标题> [作者 @某人]，"
                     "换行后写正文（不写则用事迹） —— 把通过审核的事迹整理为案例（管理员）"),
    Sub("我的", mine, "/典型 我的 —— 我的推荐、自荐和被推荐（退回原因请私聊查看）", private=True),
    Sub("展示页", showcase_page, "/典型 展示页 [关闭] —— 支部的公开展示页链接：可嵌入学院网站、"
                              "打印张贴；关闭后旧链接失效（管理员）", admin=True),
))

__plugin_meta__ = PluginMetadata(
    name="微典型",
    description="每学期的微典型：征集、自荐推荐、审核、投票评选、公示积分、典型案例和公开展示页",
    usage=usage_of(EXEMPLAR),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["典型", "微典型", "案例", "展示页", "exemplar"]},
)
register(__plugin_meta__.name, EXEMPLAR)
