from nonebot import logger, require
from nonebot.plugin import PluginMetadata

from domain.errors import DomainError
from domain.sessions import Sheet, percent, role_word
from domain.timeparse import parse_moment
from domain.wording import attendance_words
from runtime.args import integer, person, plain_text, record_id, word
from runtime.context import Ctx
from runtime.lifecycle import on_ready, services
from runtime.reply import paginate, send_private
from runtime.router import Call, Command, Sub, Usage, register, usage_of

require("nonebot_plugin_apscheduler")
from nonebot_plugin_apscheduler import scheduler  # noqa: E402

from runtime.scheduling import SessionScheduler  # noqa: E402

from . import screen  # noqa: E402  (the screen page's web routes)
from .notes import note_subs  # noqa: E402

jobs = SessionScheduler(scheduler, services)
LEGACY_CODE_DIGITS = 4  # fixed codes of sessions created before codes rotated
RECALLED = "（你的签到消息已撤回。签到码请私聊我发送 /签到 <签到码>，不要发到群里。）"
PRIVATE_PLEASE = "（签到码请私聊我发送 /签到 <签到码>，不要发到群里。）"


@on_ready
async def rearm_sessions(svc) -> None:
    screen.public_url(svc)
    sent, skipped = await jobs.rearm_all()
    logger.info(f"session messages armed; {sent} sent late, {skipped} skipped")


def session_line(ctx: Ctx, session, count: int, names: dict[int, str]) -> str:
    clock, svc = ctx.svc.clock, ctx.svc.sessions
    opens, closes = svc.window(session)
    now = clock.timestamp()
    if session.state == "cancelled":
        state = "已取消"
    elif now < opens:
        state = "未开始"
    elif now <= closes:
        state = "签到中"
    else:
        state = "已结束"
    return (f"#{session.id} {clock.format(session.starts_at)}-"
            f"{clock.format(session.ends_at, '%H:%M')}「{session.topic}」"
            f"导学人 {names.get(session.leader_id, session.leader_id)} · {state} · 签到 {count} 人")


def sheet_text(ctx: Ctx, sheet: Sheet) -> list[str]:
    clock, session = ctx.svc.clock, sheet.session
    lines = [f"{session.label}「{session.topic}」{clock.format(session.starts_at)} 签到表",
             attendance_words(ctx.svc.settings, len(sheet.attendees), sheet.eligible,
                              sheet.eligible_present, percent(sheet.rate)), "已签到："]
    methods = {"code": "", "open": "", "manual": "（补签）", "leader": f"（{role_word(session)}）"}
    lines += [f"  {name}（{c.user_id}）{clock.format(c.at, '%H:%M')}"
              f"{methods['leader' if c.method == 'manual' and c.operator_id is None else c.method]}"
              for c, name in sheet.attendees] or ["  无"]
    lines.append("未到：")
    lines += [f"  {m.name}（{m.user_id}）{m.floor or ''}" for m in sheet.absent] or ["  无"]
    return lines


def session_id(call: Call, expected_tokens: int | None = None) -> int:
    found = record_id(call.tokens[0]) if call.tokens else None
    if found is None or (expected_tokens is not None and len(call.tokens) != expected_tokens):
        raise Usage()
    return found


async def list_sessions(call: Call):
    if call.tokens:
        raise Usage()
    ctx = call.ctx
    found, counts = await ctx.svc.sessions.listing(ctx.branch.id)
    if not found:
        return "近期没有导学。" + CREATE_USAGE
    names = await ctx.svc.branches.names(ctx.branch.id, [s.leader_id for s in found])
    return "\n".join(["导学："] + [session_line(ctx, s, counts.get(s.id, 0), names)
                                  for s in found])


async def create_session(call: Call):
    ctx = call.ctx
    topic = word(call.tokens, 0)
    if topic is None:
        raise Usage()
    try:
        starts, rest = parse_moment(call.rest(1), ctx.svc.clock.now(),
                                   horizon_days=ctx.svc.settings.time_horizon_days)
    except DomainError as exc:
        raise Usage(str(exc)) from exc
    minutes = leader = None
    with_code = True
    for token in rest.split():
        if token == "无码":
            with_code = False
        elif integer(token) is not None and minutes is None:
            minutes = integer(token)
        elif person(token) is not None and leader is None:
            leader = person(token)
        else:
            raise Usage()
    session = await ctx.svc.sessions.create(ctx.branch.id, ctx.group_id, ctx.actor, topic,
                                            starts, minutes, leader, with_code)
    jobs.arm(session)
    names = await ctx.svc.branches.names(ctx.branch.id, [session.leader_id])
    leader_name = names.get(session.leader_id, str(session.leader_id))
    clock = ctx.svc.clock
    lines = [f"已发起导学 #{session.id}「{session.topic}」",
             f"时间：{clock.format(session.starts_at, '%Y-%m-%d %H:%M')}-"
             f"{clock.format(session.ends_at, '%H:%M')}，导学人：{leader_name}"]
    lines.append(await deliver_code(call, session))
    return "\n".join(lines)


async def deliver_code(call: Call, session) -> str:
    """Send an activity's check-in code privately to its leader and creator; the line that
    tells the group what happened (without the code). Shared by every kind of activity."""
    if not session.has_code:
        return "本场无需签到码，现场发送 /签到 即可。"
    clock = call.ctx.svc.clock
    message = (f"{session.label}「{session.topic}」"
               f"{clock.format(session.starts_at)} 的签到码：{session.code}，请在现场公布，"
               "不要发到群里。") if session.code_secret is None else screen.code_message(
                   call.ctx.svc, session)
    failed = [uid for uid in dict.fromkeys([session.leader_id, session.creator_id])
              if not await send_private(call.bot, uid, call.ctx.group_id, message,
                                        "checkin_code")]
    role = role_word(session)
    if failed:  # a secret goes only to friends: say who did not get it, never the code
        who = "和".join(role if uid == session.leader_id else "发起人" for uid in failed)
        what = "投屏链接" if session.code_secret is not None else "签到码"
        return (f"{who}还没有加我（QQ {call.bot.self_id}）为好友，{what}没有送达；"
                f"请其加好友后私聊我发送 /导学 签到码 #{session.id} 获取。")
    return f"签到码已私聊发给{role}和发起人，请在现场公布。"


async def cancel_session(call: Call):
    session = await call.ctx.svc.sessions.cancel(call.ctx.branch.id, call.ctx.actor,
                                                 session_id(call, 1))
    jobs.disarm(session.id)
    return f"{session.label}「{session.topic}」已取消。"


async def show_sheet(call: Call):
    ctx = call.ctx
    target = session_id(call, 1 if ctx.branch is None else None)
    sessions = ctx.svc.sessions
    if ctx.branch is None:  # in a private chat the session number tells the branch
        sheet = await sessions.sheet(target, ctx.actor)
        return paginate(sheet_text(ctx, sheet), ctx.svc.settings.reply_max_chars)
    sheet = await sessions.sheet(target, ctx.actor, ctx.branch.id)
    for page in paginate(sheet_text(ctx, sheet), ctx.svc.settings.reply_max_chars):
        if not await send_private(call.bot, ctx.user_id, ctx.group_id, page):
            return f"签到表私聊发送失败，请加我为好友后私聊发送 /导学 签到表 #{target}。"
    return (f"导学 #{target} 的签到表已私聊发给你（到场 {len(sheet.attendees)} 人，"
            f"出勤率 {percent(sheet.rate)}）。")


async def manual_check_in(call: Call):
    ctx = call.ctx
    target_session = session_id(call)
    tokens = call.tokens
    target = person(tokens[1]) if len(tokens) > 1 else None
    reason = " ".join(t for t in tokens[2:] if isinstance(t, str))
    if target is None or not reason:
        raise Usage()
    result = await ctx.svc.sessions.manual_check_in(ctx.branch.id, ctx.actor, target_session,
                                                    target, reason)
    names = await ctx.svc.branches.names(ctx.branch.id, [target])
    return (f"已为 {names.get(target, target)} 补签{result.session.label}（原因：{reason}），"
            f"记 {result.points} 积分。")


async def mark_leader_absent(call: Call):
    ctx = call.ctx
    tokens = call.tokens
    target = person(tokens[1]) if len(tokens) == 2 else None
    if target is None:
        raise Usage()
    session = await ctx.svc.sessions.mark_leader_absent(ctx.branch.id, ctx.actor,
                                                        session_id(call), target)
    names = await ctx.names([target])
    return (f"已记下 {names[target]} 没有到场{session.label}：签到结束时不会自动记为出席"
            "（本人签到仍然有效）。")


async def set_or_show_rotation(call: Call):
    ctx = call.ctx
    people = [person(t) for t in call.tokens]
    if people:
        await ctx.require_admin()
        if None in people:
            raise Usage()
        await ctx.svc.sessions.set_rotation(ctx.branch.id, ctx.actor, people)
    members, next_index, names = await ctx.svc.sessions.rotation(ctx.branch.id)
    if not members:
        return "还没有设置轮值导学人。管理员发送 /导学 轮值 @a @b … 设置。"
    lines = ["轮值导学人：" if not people else "已设置轮值导学人："]
    lines += [f"{'→ ' if i == next_index else '  '}{i + 1}. {names.get(uid, uid)}"
              for i, uid in enumerate(members)]
    lines.append("下一场导学默认由 → 标记的同学担任。")
    return "\n".join(lines)


async def show_code(call: Call):
    ctx = call.ctx
    target = session_id(call, 1)
    if ctx.branch is not None:
        return f"签到码只私聊发送，请私聊我发送 /导学 签到码 #{target}。"
    svc = ctx.svc.sessions
    session = await svc.code_for(target, ctx.actor)
    head = f"{session.label}「{session.topic}」"
    shown = svc.code_now(session)
    if shown is None:
        return head + "无需签到码，现场发送 /签到 即可。"
    if shown.seconds_left is None:  # a fixed code from before codes rotated
        return f"{head}签到码：{shown.code}"
    clock, now = ctx.svc.clock, ctx.svc.clock.timestamp()
    opens, closes = svc.window(session)
    link = f"投屏页：{screen.link(ctx.svc, session)}"
    if session.state != "scheduled":
        return f"{head}已取消。"
    if now < opens:
        return f"{head}的签到 {clock.format(opens)} 开放，开放后再来查看当前签到码。\n{link}"
    if now > closes:
        return f"{head}的签到已经结束。"
    return (f"{head}当前签到码：{shown.code}，{shown.seconds_left} 秒后更换（每 "
            f"{shown.period} 秒换一次，换下的码再有效 {shown.period} 秒）。\n{link}")


async def hide_code(call: Call) -> str:
    """A code typed in the group: recall the message where the bot is a group admin.
    Returns the note for the reply (which never repeats the code)."""
    return RECALLED if await call.recall() else PRIVATE_PLEASE


MEANT = {"表": "/导学 签到表 <编号>", "码": "/导学 签到码 <编号>（私聊我发送）"}


async def check_in(call: Call):
    ctx = call.ctx
    words = call.text.split()
    meant = MEANT.get(words[0]) if len(words) <= 2 and words else None
    if meant is not None and (len(words) == 1 or record_id(words[1]) is not None):
        # "/签到表 3" reaches /签到 as "表 3": not a code, so nothing to recall
        return f"你是想用 {meant} 吗？/签到 后面只跟签到码。"
    notice = await hide_code(call) if words and ctx.group_id is not None else ""
    lengths = (ctx.svc.settings.checkin_code_digits, LEGACY_CODE_DIGITS)
    if len(words) > 1 or (words and not (words[0].isascii() and words[0].isdigit()
                                         and len(words[0]) in lengths)):
        problem = code_problem(words, lengths[0], in_group=ctx.group_id is not None)
        raise Usage(f"{problem}{notice}" if problem else notice.strip() or None)
    code = words[0] if words else None
    sessions = ctx.svc.sessions
    try:
        if ctx.branch is None:  # a private chat
            result = await sessions.check_in_private(ctx.user_id, code)
        else:
            result = await sessions.check_in(ctx.branch.id, ctx.user_id, code)
    except DomainError as exc:
        raise DomainError(f"{exc}{notice}") from exc
    session = result.session
    if not result.new:
        return (f"你已在 {ctx.svc.clock.format(result.at, '%H:%M')} 签到过{session.label}，"
                "不重复计分。" + notice)
    return f"签到成功：{session.label}「{session.topic}」，出勤 +{result.points} 分。" + notice


def code_problem(words: list[str], digits: int, in_group: bool = False) -> str | None:
    """What is wrong with a typed check-in code (for the usage reply). In a group the typed
    digits are never repeated: they may be the code everyone in the room can see."""
    if len(words) != 1:
        return None
    typed = words[0].lstrip("#＃")
    if typed != words[0] and typed.isdigit():
        example = f"{digits} 位数字" if in_group else typed
        return f"签到码是 {digits} 位数字，前面不用加 #，如 /签到 {example}"
    if typed.isdigit():
        return f"签到码是 {digits} 位数字，你发的是 {len(typed)} 位。"
    return f"签到码是 {digits} 位数字。"


async def submit_note(call: Call):
    content = plain_text(call.arg)
    if not content:
        raise Usage()
    ctx = call.ctx
    result = await ctx.svc.sessions.add_note(ctx.branch.id, ctx.user_id, content)
    gained = (f"互动 +{result.points} 分" if result.points
              else "今日互动积分已达上限，本次不加分")
    return (f"已收到导学 #{result.session.id}「{result.session.topic}」的读书笔记"
            f"（{len(content)} 字），{gained}。")


CREATE_USAGE = ("/导学 发起 <主题> <开始时间> [时长分钟] [@导学人] [无码] —— 如 /导学 发起 "
                "党章学习 今天 19:30 90")
SESSION = Command("导学", aliases=("session",), subs=(
    Sub("列表", list_sessions, "/导学 [列表] —— 近期和即将开始的导学", default=True,
        own_branch=True),
    Sub("发起", create_session, CREATE_USAGE, creates=True),
    Sub("取消", cancel_session, "/导学 取消 <编号> —— 管理员或导学人"),
    Sub("签到表", show_sheet, "/导学 签到表 <编号> —— 谁签到了、谁没来（私聊发给你）",
        private=True, secret=True),
    Sub("补签", manual_check_in, "/导学 补签 <编号> <@某人> <原因> —— 管理员补记出勤", admin=True),
    Sub("缺席", mark_leader_absent, "/导学 缺席 <编号> <@负责人> —— 管理员：导学人或负责人"
        "没有到场，签到结束时不再自动记为出席（各类活动通用）", admin=True),
    Sub("轮值", set_or_show_rotation,
        "/导学 轮值 [@a @b …] —— 查看轮值导学人；管理员带 @ 设置顺序"),
    Sub("签到码", show_code,
        "/导学 签到码 <编号> —— 私聊机器人获取签到码（导学人、发起人、管理员）", private=True,
        secret=True),
))
CHECKIN = Command("签到", aliases=("checkin",), subs=(
    Sub(None, check_in, "/签到 [签到码] —— 在导学现场签到（建议私聊我发送）", private=True),
))
NOTE = Command("笔记", aliases=("note",), subs=(
    Sub("提交", submit_note, "/笔记 <内容> —— 为最近签到的导学提交读书笔记（群里或私聊）",
        default=True, own_branch=True),
    *note_subs(submit_note),  # 列表, 我的 (plugins/sessions/notes.py)
))

__plugin_meta__ = PluginMetadata(
    name="导学",
    description="导学活动：发起、现场签到、轮值导学人、签到表、读书笔记",
    usage=usage_of(SESSION, CHECKIN, NOTE),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["导学", "签到", "笔记", "session", "checkin", "note"]},
)
register(__plugin_meta__.name, SESSION, CHECKIN, NOTE)
