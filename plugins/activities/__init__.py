from nonebot import logger, require
from nonebot.plugin import PluginMetadata

from domain.activities import ABSENT, ATTENDED, MADE_UP, ON_LEAVE, Roster
from domain.errors import DomainError
from domain.sessions import percent, role_word
from domain.timeparse import parse_moment, parse_schedule
from runtime.args import integer, person, record_id, word
from runtime.lifecycle import on_ready, services
from runtime.reply import paginate, send_private
from runtime.router import Call, Command, Sub, Usage, register, usage_of

require("nonebot_plugin_apscheduler")
from nonebot_plugin_apscheduler import scheduler  # noqa: E402

require("plugins.sessions")
from plugins.sessions import deliver_code, jobs  # noqa: E402

from .lectures import SCORE, SPEAKERS  # noqa: E402  (微党课)

STATUS_WORDS = {"confirmed": "已报名", "waitlist": "候补", "cancelled": "已取消"}


def activity_id(call: Call, expected_tokens: int | None = None) -> int:
    found = record_id(call.tokens[0]) if call.tokens else None
    if found is None or (expected_tokens is not None and len(call.tokens) != expected_tokens):
        raise Usage()
    return found


def state_of(call: Call, activity) -> str:
    opens, closes = call.ctx.svc.sessions.window(activity)
    now = call.ctx.svc.clock.timestamp()
    if activity.state == "cancelled":
        return "已取消"
    if now < opens:
        return "未开始"
    return "签到中" if now <= closes else "已结束"


async def create_activity(call: Call):
    """/活动 发起 <类型> <主题> <时间> [时长] [名额 N] [截止 <时间>] [地点 X] [@负责人] [无码]"""
    ctx = call.ctx
    kind, topic = word(call.tokens, 0), word(call.tokens, 1)
    if kind is None or topic is None:
        raise Usage()
    ctx.svc.activities.kind(kind)  # an unknown kind is named, with the known ones
    horizon = ctx.svc.settings.time_horizon_days
    try:
        starts, rest = parse_moment(call.rest(2), ctx.svc.clock.now(), horizon_days=horizon)
    except DomainError as exc:
        raise Usage(str(exc)) from exc
    minutes = leader = capacity = deadline = place = None
    with_code = True
    while rest:
        head, _, tail = rest.partition(" ")
        tail = tail.strip()
        if head == "无码":
            with_code = False
        elif head == "名额" and integer(word(tail.split(), 0)) is not None and capacity is None:
            capacity = integer(tail.split()[0])
            tail = tail.partition(" ")[2].strip()
        elif head == "截止" and deadline is None:
            try:
                deadline, tail = parse_moment(tail, ctx.svc.clock.now(), horizon_days=horizon)
            except DomainError as exc:
                raise Usage(f"截止时间：{exc}") from exc
        elif head == "地点" and tail and place is None:
            place, _, tail = tail.partition(" ")
        elif integer(head) is not None and minutes is None:
            minutes = integer(head)
        elif person(head) is not None and leader is None:
            leader = person(head)
        else:
            raise Usage()
        rest = tail.strip()
    activity = await ctx.svc.activities.create(
        ctx.branch.id, ctx.group_id, ctx.actor, kind, topic, starts, minutes, leader, with_code,
        capacity, deadline, place)
    jobs.arm(activity)
    names = await ctx.names([activity.leader_id])
    clock = ctx.svc.clock
    lines = [f"已发起{activity.label}「{activity.topic}」",
             f"时间：{clock.format(activity.starts_at, '%Y-%m-%d %H:%M')}-"
             f"{clock.format(activity.ends_at, '%H:%M')}，负责人：{names[activity.leader_id]}"]
    if activity.place:
        lines.append(f"地点：{activity.place}")
    if ctx.svc.activities.kind_of(activity).signup:
        places = f"名额 {activity.capacity} 人" if activity.capacity else "不限名额"
        lines.append(f"{places}，报名截止 {clock.format(ctx.svc.activities.deadline(activity))}。"
                     f"发送 /报名 #{activity.id} 报名。")
    lines.append(await deliver_code(call, activity))
    return "\n".join(lines)


async def list_activities(call: Call):
    if call.tokens:
        raise Usage()
    ctx = call.ctx
    found, checked, signed = await ctx.svc.activities.listing(ctx.branch.id)
    if not found:
        return "近期没有活动。发送 /活动 发起 <类型> <主题> <时间> 发起一个。"
    lines = ["活动："]
    for a in found:
        confirmed, waiting = signed.get(a.id, (0, 0))
        sign = ""
        if ctx.svc.activities.kind_of(a).signup:
            sign = f" · 报名 {confirmed}" + (f"/{a.capacity}" if a.capacity else "") + (
                f" 候补 {waiting}" if waiting else "")
        lines.append(f"#{a.id} [{a.kind}] {ctx.svc.clock.format(a.starts_at)}「{a.topic}」"
                     f"· {state_of(call, a)}{sign} · 签到 {checked.get(a.id, 0)} 人")
    return paginate(lines, ctx.svc.settings.reply_max_chars)


async def activity_details(call: Call):
    ctx = call.ctx
    activities = ctx.svc.activities
    activity = await activities.get(ctx.branch.id, activity_id(call, 1))
    clock = ctx.svc.clock
    names = await ctx.names([activity.leader_id])
    lines = [f"{activity.label}「{activity.topic}」【{state_of(call, activity)}】",
             f"时间：{clock.format(activity.starts_at, '%Y-%m-%d %H:%M')}-"
             f"{clock.format(activity.ends_at, '%H:%M')}",
             f"地点：{activity.place or '未填'} · 负责人：{names[activity.leader_id]}"]
    if activities.kind_of(activity).signup:
        confirmed, waiting = await activities.counts(activity)
        places = f"{activity.capacity} 人" if activity.capacity else "不限"
        lines.append(f"名额：{places} · 已报名 {confirmed} 人 · 候补 {waiting} 人 · 截止 "
                     f"{clock.format(activities.deadline(activity))}")
        mine = await activities.repo.signup_of(activity.id, ctx.user_id)
        if mine is None or mine.status == "cancelled":
            lines.append(f"我：未报名（/报名 #{activity.id}）")
        elif mine.status == "waitlist":
            position = await activities.repo.waitlist_position(activity.id, ctx.user_id)
            lines.append(f"我：候补第 {position} 位")
        else:
            lines.append("我：已报名")
    return "\n".join(lines)


async def cancel_activity(call: Call):
    ctx = call.ctx
    activity = await ctx.svc.activities.get(ctx.branch.id, activity_id(call, 1))
    cancelled = await ctx.svc.sessions.cancel(ctx.branch.id, ctx.actor, activity.id)
    jobs.disarm(cancelled.id)
    return f"{cancelled.label}「{cancelled.topic}」已取消。"


async def change_capacity(call: Call):
    ctx = call.ctx
    target = activity_id(call)
    capacity = integer(word(call.tokens, 1))
    if capacity is None or len(call.tokens) != 2:
        raise Usage()
    activity, promoted = await ctx.svc.activities.set_capacity(ctx.branch.id, ctx.actor, target,
                                                               capacity)
    moved = f"，{len(promoted)} 位候补同学已转为正式报名并收到通知" if promoted else ""
    return f"{activity.label} 的名额改为 {activity.capacity} 人{moved}。"


def roster_lines(call: Call, roster: Roster, names: dict[int, str]) -> list[str]:
    activity = roster.activity
    clock = call.ctx.svc.clock
    phase = state_of(call, activity)
    role = role_word(activity)
    lines = [f"{activity.label}「{activity.topic}」{clock.format(activity.starts_at)} 名单"
             + (f"（{phase}）" if phase != "已结束" else "")]
    if phase == "未开始":  # nobody can have come yet: no 出席 or 缺席, no rate
        lines.append(f"应到 {roster.expected} 人，请假 {roster.count(ON_LEAVE)} 人；签到 "
                     f"{clock.format(call.ctx.svc.sessions.window(activity)[0])} 开放，"
                     "之后再统计出勤。")
        shown = (ON_LEAVE, ABSENT)
    else:
        absent = "未签到" if phase == "签到中" else ABSENT
        lines.append(f"应到 {roster.expected} 人：出席 {roster.count(ATTENDED)}、"
                     f"补签 {roster.count(MADE_UP)}、请假 {roster.count(ON_LEAVE)}、"
                     f"{absent} {roster.count(ABSENT)}；出勤率 {percent(roster.rate)}"
                     + ("（签到中，尚未结束）" if phase == "签到中" else ""))
        shown = (ATTENDED, MADE_UP, ON_LEAVE, ABSENT)
    if call.ctx.svc.activities.kind_of(activity).signup:
        lines.append(f"报名 {len(roster.signed_up)} 人，候补 {len(roster.waitlist)} 人"
                     + (f"，报名未到 {len(roster.no_shows)} 人" if phase == "已结束" else ""))
    titles = {ABSENT: {"未开始": "应到（未请假）", "签到中": "未签到"}.get(phase, ABSENT)}
    for state in shown:
        people = [u for u, s in roster.states.items() if s == state]
        if people:
            lines.append(f"{titles.get(state, state)}：")
            for user_id in people:
                extra = f"（{roster.leave_reasons[user_id]}）" if state == ON_LEAVE else ""
                mark = f"（{role}）" if user_id == roster.organiser else ""
                lines.append(f"  {names[user_id]}（{user_id}）{mark}{extra}")
    if roster.walk_ins:
        lines.append("现场参加（不在应到名单中）：")
        lines += [f"  {names[u]}（{u}）" + (f"（{role}）" if u == roster.organiser else "")
                  + ("[候补]" if u in roster.waitlisted_walk_ins else "")
                  for u in roster.walk_ins]
    if roster.waitlist:
        lines.append("候补顺序：" + "、".join(names[u] for u in roster.waitlist))
    return lines


async def show_roster(call: Call):
    """The list goes privately to the asker: absentee names never reach a group."""
    ctx = call.ctx
    target = activity_id(call, 1)
    roster = await ctx.svc.activities.sheet(ctx.branch.id, ctx.actor, target)
    people = [*roster.states, *roster.walk_ins, *roster.waitlist]
    names = await ctx.names(people)
    for page in paginate(roster_lines(call, roster, names), ctx.svc.settings.reply_max_chars):
        if not await send_private(call.bot, ctx.user_id, ctx.group_id, page):
            return f"名单私聊发送失败，请加我为好友后再试 /活动 名单 #{target}。"
    figure = ("未开始" if state_of(call, roster.activity) == "未开始"
              else f"出勤率 {percent(roster.rate)}")
    return f"{roster.activity.label} 的名单已私聊发给你（应到 {roster.expected} 人，{figure}）。"


async def sign_up(call: Call):
    ctx = call.ctx
    target = activity_id(call)
    result = await ctx.svc.activities.sign_up(ctx.branch.id, ctx.user_id, target, call.rest(1))
    label = f"{result.activity.label}「{result.activity.topic}」"
    if not result.new:
        if result.status == "waitlist":
            return f"你已经在{label}的候补名单上了（第 {result.position} 位），不用重复报名。"
        return f"你已经报名了{label}，不用重复报名。"
    if result.status == "waitlist":
        return (f"{label}名额已满，你在候补第 {result.position} 位。"
                "有人取消时按顺序递补，递补后私聊通知你。")
    return f"报名成功：{label}，{call.ctx.svc.clock.format(result.activity.starts_at)} 开始。"


async def cancel_sign_up(call: Call):
    ctx = call.ctx
    result = await ctx.svc.activities.cancel_signup(ctx.branch.id, ctx.user_id,
                                                    activity_id(call, 1))
    late = "（已过报名截止时间，记为逾期取消）" if result.late else ""
    moved = "，候补第 1 位同学已递补" if result.promoted else ""
    return f"已取消{result.activity.label}的报名{late}{moved}。"


async def my_sign_ups(call: Call):
    if call.tokens:
        raise Usage()
    ctx = call.ctx
    found = await ctx.svc.activities.my_signups(ctx.branch.id, ctx.user_id)
    if not found:
        return "你没有进行中的报名。发送 /活动 查看可报名的活动。"
    lines = ["我的报名："]
    for session_id, kind, topic, starts_at, status, position in found:
        where = f"候补第 {position} 位" if status == "waitlist" else STATUS_WORDS[status]
        lines.append(f"#{session_id} [{kind}] {ctx.svc.clock.format(starts_at)}「{topic}」{where}")
    return "\n".join(lines)


async def ask_leave(call: Call):
    ctx = call.ctx
    target = activity_id(call)
    reason = call.rest(1)
    if not reason:
        raise Usage()
    activity = await ctx.svc.activities.ask_leave(ctx.branch.id, ctx.user_id, target, reason)
    return f"已记录你对{activity.label}「{activity.topic}」的请假（{reason}），支委会会看到。"


KINDS_HELP = "类型：导学、微分享、主题党日、志愿服务、支部党员大会、支委会、党小组会、党课、微党课"
ACTIVITY = Command("活动", aliases=("activity",), subs=(
    Sub("列表", list_activities, "/活动 [列表] —— 近期和即将开始的各类活动", default=True,
        own_branch=True),
    Sub("发起", create_activity, "/活动 发起 <类型> <主题> <时间> [时长] [名额 N] [截止 <时间>] "
        f"[地点 X] [@负责人] [无码] —— {KINDS_HELP}", creates=True),
    Sub("详情", activity_details,
        "/活动 详情 <编号> —— 时间、地点、名额、报名和候补人数、我的状态", own_branch=True),
    Sub("我的", my_sign_ups, "/活动 我的 —— 我的报名和候补位置（同 /报名 我的）",
        own_branch=True),
    Sub("取消", cancel_activity, "/活动 取消 <编号> —— 管理员或负责人取消活动"),
    Sub("名额", change_capacity, "/活动 名额 <编号> <人数> —— 调整名额（不少于已报名人数）"),
    Sub("名单", show_roster, "/活动 名单 <编号> —— 报名、出席、请假、缺席名单（私聊发给你）"),
    SPEAKERS,
))
SIGNUP = Command("报名", aliases=("signup",), subs=(
    Sub("报名", sign_up, "/报名 <编号> [备注] —— 报名活动，满员进入候补", default=True,
        own_branch=True),
    Sub("取消", cancel_sign_up, "/报名 取消 <编号> —— 取消报名，候补按顺序递补", own_branch=True),
    Sub("我的", my_sign_ups, "/报名 我的 —— 我的报名和候补位置", own_branch=True),
))
LEAVE = Command("请假", aliases=("leave",), subs=(
    Sub(None, ask_leave, "/请假 <编号> <原因> —— 会议开始前请假（应到人员）", own_branch=True),
))

__plugin_meta__ = PluginMetadata(
    name="活动",
    description="微分享、主题党日、志愿服务、三会一课和微党课：报名候补、请假、出勤、讲者评分",
    usage=usage_of(ACTIVITY, SIGNUP, LEAVE, SCORE),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["活动", "报名", "请假", "三会一课", "微党课", "评分", "activity",
                        "signup", "leave", "score"]},
)
register(__plugin_meta__.name, ACTIVITY, SIGNUP, LEAVE, SCORE)


async def tell_meetings_behind() -> None:
    queued = await services().activities.queue_behind_notices()
    logger.info(f"三会一课 check: {queued} notices queued")


@on_ready
async def arm_meeting_check(svc) -> None:
    schedule, _ = parse_schedule(svc.settings.activity_behind_check_time, svc.clock.now())
    scheduler.add_job(tell_meetings_behind, schedule.trigger(svc.clock.tz),
                      id="meetings_behind", replace_existing=True, coalesce=True,
                      misfire_grace_time=svc.settings.misfire_grace_minutes * 60)
