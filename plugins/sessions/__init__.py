from nonebot import logger, on_command, require
from nonebot.adapters.onebot.v11 import Bot, Message, MessageEvent
from nonebot.params import CommandArg
from nonebot.plugin import PluginMetadata

from domain.errors import DomainError
from domain.sessions import Sheet, percent
from domain.timeparse import parse_moment
from runtime.args import (
    integer,
    person,
    plain_text,
    record_id,
    rest_text,
    text_after_command,
    tokenize,
    word,
)
from runtime.context import CommandContext, Ctx, command_context, guarded
from runtime.lifecycle import on_ready, services
from runtime.reply import paginate, text

require("nonebot_plugin_apscheduler")
from nonebot_plugin_apscheduler import scheduler  # noqa: E402

from runtime.scheduling import SessionScheduler  # noqa: E402

USAGES = {
    "发起": "/导学 发起 <主题> <开始时间> [时长分钟] [@导学人] [无码] —— 如 /导学 发起 "
            "党章学习 今天 19:30 90",
    "列表": "/导学 [列表] —— 近期和即将开始的导学",
    "取消": "/导学 取消 <编号> —— 管理员或导学人",
    "签到表": "/导学 签到表 <编号> —— 谁签到了、谁没来（私聊发给你）",
    "补签": "/导学 补签 <编号> <@某人> <原因> —— 管理员补记出勤",
    "轮值": "/导学 轮值 [@a @b …] —— 查看轮值导学人；管理员带 @ 设置顺序",
    "签到码": "/导学 签到码 <编号> —— 私聊机器人获取签到码（导学人、发起人、管理员）",
}
CHECKIN_USAGE = "/签到 [签到码] —— 在导学现场签到"
NOTE_USAGE = "/笔记 <内容> —— 为最近签到的导学提交读书笔记"

__plugin_meta__ = PluginMetadata(
    name="导学",
    description="导学活动：发起、现场签到、轮值导学人、签到表、读书笔记",
    usage="\n".join([*USAGES.values(), CHECKIN_USAGE, NOTE_USAGE]),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["导学", "签到", "笔记", "session", "checkin", "note"]},
)

jobs = SessionScheduler(scheduler, services)

session_cmd = on_command("导学", aliases={"session"}, priority=10, block=True)
# Check-in is the burst path (a whole floor at once): its own priority level lets NoneBot stop
# after this one matcher instead of checking every other command's rules for each message.
CHECKIN_NAMES = ("签到", "checkin")
COMMAND_STARTS = ("/", "／")
checkin_cmd = on_command(CHECKIN_NAMES[0], aliases=set(CHECKIN_NAMES[1:]), priority=1,
                         block=True)
note_cmd = on_command("笔记", aliases={"note"}, priority=10, block=True)


@on_ready
async def rearm_sessions(svc) -> None:
    sent, skipped = await jobs.rearm_all()
    logger.info(f"session messages armed; {sent} sent late, {skipped} skipped")


def usage(action: str) -> Message:
    return text("用法：" + USAGES[action])


async def send_private(bot: Bot, user_id: int, group_id: int | None, content: str) -> bool:
    """Private message; through the group (temp session) for non-friends. False if it failed."""
    params = {"user_id": user_id, "message": text(content)}
    if group_id:
        params["group_id"] = group_id
    try:
        await bot.call_api("send_private_msg", **params)
    except Exception as exc:
        logger.warning(f"private message to {user_id} failed: {exc}")
        return False
    return True


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
    lines = [f"导学 #{session.id}「{session.topic}」{clock.format(session.starts_at)} 签到表",
             f"到场 {len(sheet.attendees)} 人；应到 {sheet.eligible} 人，实到 "
             f"{sheet.eligible_present} 人，出勤率 {percent(sheet.rate)}", "已签到："]
    methods = {"code": "", "open": "", "manual": "（补签）"}
    lines += [f"  {name}（{c.user_id}）{clock.format(c.at, '%H:%M')}{methods[c.method]}"
              for c, name in sheet.attendees] or ["  无"]
    lines.append("未到：")
    lines += [f"  {m.name}（{m.user_id}）{m.floor or ''}" for m in sheet.absent] or ["  无"]
    return lines


@session_cmd.handle()
@guarded
async def handle_session(bot: Bot, ctx: CommandContext, arg: Message = CommandArg()):
    tokens = tokenize(arg)
    action = word(tokens, 0) or "列表"
    if action in ("签到码", "签到表") and ctx.branch is None:
        await private_session_command(ctx, action, tokens)
    branch = ctx.in_branch()
    sessions = ctx.svc.sessions
    if action == "列表":
        if len(tokens) > 1:
            await session_cmd.finish(usage("列表"))
        found, counts = await sessions.listing(branch.id)
        if not found:
            await session_cmd.finish(text("近期没有导学。" + USAGES["发起"]))
        names = await ctx.svc.branches.names(branch.id, [s.leader_id for s in found])
        lines = ["导学："] + [session_line(ctx, s, counts.get(s.id, 0), names) for s in found]
        await session_cmd.finish(text("\n".join(lines)))
    if action == "发起":
        await create_session(bot, ctx, arg, tokens)
    if action == "轮值":
        await rotation(ctx, tokens)
    if action not in USAGES:
        await session_cmd.finish(text("用法：\n" + "\n".join(USAGES.values())))
    if action in ("补签",):
        await ctx.require_admin()
    session_id = record_id(tokens[1]) if len(tokens) > 1 else None
    if session_id is None:
        await session_cmd.finish(usage(action))
    if action == "取消":
        if len(tokens) != 2:
            await session_cmd.finish(usage("取消"))
        session = await sessions.cancel(branch.id, ctx.actor, session_id)
        jobs.disarm(session.id)
        await session_cmd.finish(text(f"导学 #{session.id}「{session.topic}」已取消。"))
    if action == "补签":
        target = person(tokens[2]) if len(tokens) > 2 else None
        reason = " ".join(t for t in tokens[3:] if isinstance(t, str))
        if target is None or not reason:
            await session_cmd.finish(usage("补签"))
        result = await sessions.manual_check_in(branch.id, ctx.actor, session_id, target, reason)
        names = await ctx.svc.branches.names(branch.id, [target])
        await session_cmd.finish(text(
            f"已为 {names.get(target, target)} 补签导学 #{result.session.id}（原因：{reason}），"
            f"记 {result.points} 积分。"
        ))
    if action == "签到码":
        await session_cmd.finish(text(
            f"签到码只私聊发送，请私聊我发送 /导学 签到码 #{session_id}。"
        ))
    if action == "签到表":
        sheet = await sessions.sheet(session_id, ctx.actor, branch.id)
        pages = paginate(sheet_text(ctx, sheet), ctx.svc.settings.reply_max_chars)
        for page in pages:
            if not await send_private(bot, ctx.user_id, ctx.group_id, page):
                await session_cmd.finish(text(
                    f"签到表私聊发送失败，请加我为好友后私聊发送 /导学 签到表 #{session_id}。"
                ))
        await session_cmd.finish(text(
            f"导学 #{session_id} 的签到表已私聊发给你（到场 {len(sheet.attendees)} 人，"
            f"出勤率 {percent(sheet.rate)}）。"
        ))


async def private_session_command(ctx: Ctx, action: str, tokens) -> None:
    """签到码/签到表 in a private chat: the session number tells the branch."""
    session_id = record_id(tokens[1]) if len(tokens) == 2 else None
    if session_id is None:
        await session_cmd.finish(usage(action))
    sessions = ctx.svc.sessions
    if action == "签到码":
        session = await sessions.code_for(session_id, ctx.actor)
        code = session.code or "（本场无需签到码，发送 /签到 即可）"
        await session_cmd.finish(text(f"导学 #{session.id}「{session.topic}」签到码：{code}"))
    sheet = await sessions.sheet(session_id, ctx.actor)
    pages = paginate(sheet_text(ctx, sheet), ctx.svc.settings.reply_max_chars)
    for page in pages[:-1]:
        await session_cmd.send(text(page))
    await session_cmd.finish(text(pages[-1]))


async def create_session(bot: Bot, ctx: Ctx, arg: Message, tokens) -> None:
    branch = ctx.in_branch()
    topic = word(tokens, 1)
    if topic is None:
        await session_cmd.finish(usage("发起"))
    try:
        starts, rest = parse_moment(rest_text(arg, 2), ctx.svc.clock.now())
    except DomainError as exc:
        await session_cmd.finish(text(f"{exc}\n用法：{USAGES['发起']}"))
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
            await session_cmd.finish(usage("发起"))
    session = await ctx.svc.sessions.create(branch.id, ctx.group_id, ctx.actor, topic, starts,
                                            minutes, leader, with_code)
    jobs.arm(session)
    names = await ctx.svc.branches.names(branch.id, [session.leader_id])
    leader_name = names.get(session.leader_id, str(session.leader_id))
    clock = ctx.svc.clock
    lines = [f"已发起导学 #{session.id}「{session.topic}」",
             f"时间：{clock.format(session.starts_at, '%Y-%m-%d %H:%M')}-"
             f"{clock.format(session.ends_at, '%H:%M')}，导学人：{leader_name}"]
    if session.code is None:
        lines.append("本场无需签到码，现场发送 /签到 即可。")
    else:
        message = (f"导学 #{session.id}「{session.topic}」"
                   f"{clock.format(session.starts_at)} 的签到码：{session.code}，请在现场公布，"
                   "不要发到群里。")
        failed = [uid for uid in dict.fromkeys([session.leader_id, session.creator_id])
                  if not await send_private(bot, uid, ctx.group_id, message)]
        if failed:
            lines.append("签到码私聊发送失败，请导学人或发起人私聊我发送 "
                         f"/导学 签到码 #{session.id} 获取。")
        else:
            lines.append("签到码已私聊发给导学人和发起人，请在现场公布。")
    await session_cmd.finish(text("\n".join(lines)))


async def rotation(ctx: Ctx, tokens) -> None:
    branch = ctx.in_branch()
    people = [person(t) for t in tokens[1:]]
    if people:
        await ctx.require_admin()
        if None in people:
            await session_cmd.finish(usage("轮值"))
        await ctx.svc.sessions.set_rotation(branch.id, ctx.actor, people)
    members, next_index, names = await ctx.svc.sessions.rotation(branch.id)
    if not members:
        await session_cmd.finish(text("还没有设置轮值导学人。管理员发送 /导学 轮值 @a @b … 设置。"))
    lines = ["轮值导学人：" if not people else "已设置轮值导学人："]
    lines += [f"{'→ ' if i == next_index else '  '}{i + 1}. {names.get(uid, uid)}"
              for i, uid in enumerate(members)]
    lines.append("下一场导学默认由 → 标记的同学担任。")
    await session_cmd.finish(text("\n".join(lines)))


@checkin_cmd.handle()
@guarded
async def check_in(event: MessageEvent):
    # Only the event is injected here: NoneBot's dependency solving (a Depends and CommandArg)
    # costs more per message than the check-in itself, and this is the burst path.
    ctx = await command_context(event)
    branch = ctx.in_branch()
    words = text_after_command(event.get_plaintext(), COMMAND_STARTS, CHECKIN_NAMES).split()
    if len(words) > 1 or (words and not (words[0].isascii() and words[0].isdigit()
                                         and len(words[0]) == 4)):
        await checkin_cmd.finish(text("用法：" + CHECKIN_USAGE))
    result = await ctx.svc.sessions.check_in(branch.id, ctx.user_id, words[0] if words else None)
    session = result.session
    if not result.new:
        await checkin_cmd.finish(text(
            f"你已在 {ctx.svc.clock.format(result.at, '%H:%M')} 签到过导学 #{session.id}，"
            "不重复计分。"
        ))
    await checkin_cmd.finish(text(
        f"签到成功：导学 #{session.id}「{session.topic}」，出勤 +{result.points} 分。"
    ))


@note_cmd.handle()
@guarded
async def submit_note(ctx: CommandContext, arg: Message = CommandArg()):
    branch = ctx.in_branch()
    content = plain_text(arg)
    if not content:
        await note_cmd.finish(text("用法：" + NOTE_USAGE))
    result = await ctx.svc.sessions.add_note(branch.id, ctx.user_id, content)
    gained = (f"互动 +{result.points} 分" if result.points
              else "今日互动积分已达上限，本次不加分")
    await note_cmd.finish(text(
        f"已收到导学 #{result.session.id}「{result.session.topic}」的读书笔记"
        f"（{len(content)} 字），{gained}。"
    ))
