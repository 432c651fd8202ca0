"""任务清单: /任务 — publish, claim, report done, confirm, return; parse, call TaskService,
format. The deadline jobs live in ``runtime/task_jobs.py``."""

from __future__ import annotations

import re

from nonebot import logger, require
from nonebot.plugin import PluginMetadata

from domain.posts import kind_of
from domain.tasks import (
    ALL,
    ALL_WORD,
    FLOOR,
    OPEN,
    PERSON,
    POST,
    STATE_LABELS,
    TASK_STATE_LABELS,
    TIME_FORMAT,
    Target,
)
from domain.timeparse import TimeParseError, parse_moment, parse_schedule
from domain.wording import eligible_word
from runtime.args import Mention, Token, person, record_id
from runtime.lifecycle import on_ready, services
from runtime.reply import paginate
from runtime.router import Call, Command, Sub, Usage, register, usage_of

require("nonebot_plugin_apscheduler")
from nonebot_plugin_apscheduler import scheduler  # noqa: E402

from runtime.task_jobs import TaskScheduler  # noqa: E402

jobs = TaskScheduler(scheduler, services)
DUE_WORD = "截止"
_POINTS = re.compile(r"^\+?([0-9]{1,3})分?$")
_TARGET = re.compile(r"^(岗位|楼层)[:：](.+)$")
# how a one-off time starts (domain.timeparse's forms): where the title ends and the deadline
# begins; a word like this that is not a valid time is answered with the time forms
_TIME_START = re.compile(r"^([0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}|[0-9]{1,2}[-/][0-9]{1,2}$|"
                         r"今天|明天|后天|[0-9]{1,2}[:：][0-9]{2}$)")


@on_ready
async def arm_task_jobs(svc) -> None:
    sent = await jobs.rearm_all()
    logger.info(f"task deadlines armed; {sent} notices that fell due while down sent")
    if svc.settings.task_weekly_enabled:
        schedule, _ = parse_schedule(svc.settings.task_weekly_time, svc.clock.now())
        scheduler.add_job(post_weekly_tasks, schedule.trigger(svc.clock.tz), id="task_weekly",
                          replace_existing=True, coalesce=True,
                          misfire_grace_time=svc.settings.misfire_grace_minutes * 60)


async def post_weekly_tasks() -> None:
    queued = await services().tasks.queue_weekly()
    logger.info(f"weekly task list: {queued} messages queued")


# parsing -----------------------------------------------------------------------------------


def parse_publish(tokens: list[Token], call: Call) -> tuple[str, int | None, Target, int | None]:
    """``<标题> [截止] [时间] [@某人…|岗位:先锋岗|楼层:3楼|全体] [积分]`` → (title, deadline,
    target, points); the usage line for anything it cannot read."""
    mentioned = [t.user_id for t in tokens if isinstance(t, Mention)]
    words = [t for t in tokens if isinstance(t, str)]
    points = None
    targets: list[Target] = []
    people: list[int] = []
    while len(words) > 1:  # from the end: points, then who it is for
        last = words[-1]
        match = _POINTS.match(last)
        if match and points is None and not targets and not people:
            points = int(match.group(1))
        elif (found := _TARGET.match(last)) is not None:
            kind = kind_of(found.group(2)) if found.group(1) == "岗位" else None
            if found.group(1) == "岗位" and kind is None:
                raise Usage("岗位只能是：先锋岗、责任区、观察员。")
            targets.append(Target(POST, word=kind) if kind else Target(FLOOR, word=found.group(2)))
        elif last in (ALL_WORD, "全部"):
            targets.append(Target(ALL))
        elif person(last) is not None and len(last.lstrip("@")) >= 5:
            people.append(person(last))
        else:
            break
        words.pop()
    people = mentioned + people[::-1]
    if people:
        targets.append(Target(PERSON, tuple(people)))
    if len(targets) > 1 or not words:
        raise Usage("对象只能写一种：@某人、岗位:先锋岗、楼层:3楼 或 全体。" if words else None)
    target = targets[0] if targets else Target(OPEN)
    title_end, due = len(words), None
    now = call.ctx.svc.clock.now()
    horizon = call.ctx.svc.settings.time_horizon_days
    for i in range(1, len(words)):
        start = i + 1 if words[i] == DUE_WORD else i
        if start >= len(words) or not _TIME_START.match(words[start]):
            if words[i] == DUE_WORD:
                raise TimeParseError("截止后面要写时间，例如：截止 明天 18:00")
            continue
        moment, rest = parse_moment(" ".join(words[start:]), now, horizon_days=horizon)
        if not rest:
            title_end, due = i, int(moment.timestamp())
            break
    return " ".join(words[:title_end]), due, target, points


def task_number(call: Call) -> int:
    found = record_id(call.tokens[0]) if call.tokens else None
    if found is None:
        raise Usage()
    return found


def someone(call: Call, index: int = 1) -> int | None:
    """The person named at ``index`` (an @ or a QQ number), if any."""
    tokens = call.tokens
    return person(tokens[index]) if len(tokens) > index else None


# replies ---------------------------------------------------------------------------------


async def publish_task(call: Call):
    ctx = call.ctx
    if not call.tokens:
        raise Usage()
    title, due, target, points = parse_publish(call.tokens, call)
    task = await ctx.svc.tasks.publish(ctx.branch.id, ctx.group_id, ctx.actor, title, due,
                                       target, points)
    jobs.arm(task.row)
    row = task.row
    when = f"，{ctx.svc.clock.format(row.due_at, TIME_FORMAT)} 截止" if row.due_at else ""
    text = f"已发布任务 #{row.id}「{row.title}」：{task.target_text()}"
    if row.target_kind == OPEN:
        return (text + f"{when}，积分 {row.points}。{eligible_word(ctx.svc.settings)}的同学可发送 "
                f"/任务 认领 #{row.id} 认领。")
    text += f"（{len(task.assignments)} 人）{when}，积分 {row.points}。"
    if row.target_kind in (PERSON, POST):
        return text + "已私聊通知执行人。"
    return text + f"执行人完成后发送 /任务 完成 #{row.id} <说明>；发送 /任务 可查看。"


async def my_tasks(call: Call):
    if call.tokens:
        raise Usage()
    ctx = call.ctx
    svc = ctx.svc
    mine = await svc.tasks.mine(ctx.branch.id, ctx.user_id)
    now = svc.clock.timestamp()
    lines = []
    if mine.mine:
        lines.append("我的任务：")
        for task in mine.mine:
            held = task.of(ctx.user_id)
            state = STATE_LABELS[held.state]
            if held.state == "todo" and held.returns:
                state += f"（被退回：{held.return_reason}）"
            lines.append(f"  {svc.tasks.line(task, now)} · {state}")
    if mine.floor:
        lines.append("本楼层的任务：")
        lines += [f"  {svc.tasks.line(t, now)}" for t in mine.floor]
    if mine.claimable:
        lines.append("可认领的任务（/任务 认领 <编号>）：")
        lines += [f"  {svc.tasks.line(t, now)}" for t in mine.claimable]
    if not lines:
        return "现在没有你的任务，也没有可认领的任务。"
    if mine.mine:
        lines.append("完成后发送 /任务 完成 #编号 <说明>。")
    return paginate(lines, svc.settings.reply_max_chars)


async def task_details(call: Call):
    ctx = call.ctx
    svc = ctx.svc
    if len(call.tokens) != 1:
        raise Usage()
    task = await svc.tasks.get(ctx.branch.id, task_number(call))
    row = task.row
    names = await ctx.names([row.created_by, *(a.user_id for a in task.assignments)])
    lines = [f"任务 #{row.id}「{row.title}」【{TASK_STATE_LABELS[row.state]}】",
             f"对象：{task.target_text()} · 积分 {row.points} · 发布人 {names[row.created_by]}"]
    if row.due_at is not None:
        late = "（逾期）" if task.overdue_at(svc.clock.timestamp()) else ""
        lines.append(f"截止：{svc.clock.format(row.due_at, TIME_FORMAT)}{late}")
    if not task.assignments:
        lines.append("还没有人认领。" if row.target_kind == OPEN else "没有执行人。")
    for held in task.assignments:
        line = f"  {names[held.user_id]} {STATE_LABELS[held.state]}"
        if held.note and held.state != "todo":
            line += f"：{held.note}"
        if held.returns:
            line += f"（退回 {held.returns} 次：{held.return_reason}）"
        lines.append(line)
    return paginate(lines, svc.settings.reply_max_chars)


async def task_board(call: Call):
    if call.tokens:
        raise Usage()
    ctx = call.ctx
    svc = ctx.svc
    tasks = await svc.tasks.open_tasks(ctx.branch.id)
    if not tasks:
        return "任务清单是空的。发送 /任务 发布 <标题> [截止时间] [对象] [积分] 发布任务。"
    now = svc.clock.timestamp()
    late = sum(t.overdue_at(now) for t in tasks)
    lines = [f"📋 任务清单：进行中 {len(tasks)} 个，其中逾期 {late} 个"]
    lines += [svc.tasks.line(t, now) for t in tasks]
    return paginate(lines, svc.settings.reply_max_chars)


async def claim_task(call: Call):
    if len(call.tokens) != 1:
        raise Usage()
    ctx = call.ctx
    task = await ctx.svc.tasks.claim(ctx.branch.id, task_number(call), ctx.user_id)
    return (f"认领成功：任务 #{task.id}「{task.row.title}」。完成后发送 "
            f"/任务 完成 #{task.id} <说明>。")


async def complete_task(call: Call):
    note = call.rest(1)
    if not note:
        raise Usage()
    ctx = call.ctx
    task = await ctx.svc.tasks.complete(ctx.branch.id, task_number(call), ctx.user_id, note)
    return f"已报告完成任务 #{task.id}「{task.row.title}」，等待支委或党小组组长确认。"


async def confirm_task(call: Call):
    ctx = call.ctx
    number = task_number(call)
    who = someone(call)
    if len(call.tokens) > 2 or (len(call.tokens) == 2 and who is None):
        raise Usage()
    done = await ctx.svc.tasks.confirm(ctx.branch.id, number, ctx.actor, who)
    names = await ctx.names([d.user_id for d in done])
    parts = [f"{names[d.user_id]}" + (f" +{d.points} 分" if d.points else "") for d in done]
    return f"已确认任务 #{number}：" + "、".join(parts) + "。"


async def return_task(call: Call):
    ctx = call.ctx
    number = task_number(call)
    who = someone(call)
    reason = call.rest(2 if who is not None else 1)
    if not reason:
        raise Usage()
    held = await ctx.svc.tasks.send_back(ctx.branch.id, number, ctx.actor, who, reason)
    names = await ctx.names([held.user_id])
    return f"已退回 {names[held.user_id]} 的任务 #{number}，已私聊告诉 TA 原因。"


async def cancel_task(call: Call):
    if len(call.tokens) != 1:
        raise Usage()
    ctx = call.ctx
    task = await ctx.svc.tasks.cancel(ctx.branch.id, task_number(call), ctx.actor)
    jobs.disarm(task.id)
    return f"已取消任务 #{task.id}「{task.row.title}」。"


TASK = Command("任务", aliases=("task",), subs=(
    Sub("我的", my_tasks, "/任务 [我的] —— 我的任务、本楼层的任务和可认领的任务", default=True),
    Sub("发布", publish_task, "/任务 发布 <标题> [截止时间] [@某人|岗位:先锋岗|楼层:3楼|全体] "
        "[积分] —— 发布任务（管理员）；不写对象则为认领任务", admin=True, creates=True),
    Sub("认领", claim_task, "/任务 认领 <编号> —— 认领没有指定对象的任务"),
    Sub("完成", complete_task, "/任务 完成 <编号> <说明> —— 报告完成，等待确认"),
    Sub("确认", confirm_task, "/任务 确认 <编号> [@某人] —— 确认完成并记服务积分（管理员、"
        "执行人所在楼层的党小组组长）"),
    Sub("退回", return_task, "/任务 退回 <编号> [@某人] <原因> —— 退回重做（管理员、党小组组长）"),
    Sub("详情", task_details, "/任务 详情 <编号> —— 任务和每位执行人的进度"),
    Sub("清单", task_board, "/任务 清单 —— 支部的任务清单和逾期情况（管理员）", admin=True),
    Sub("取消", cancel_task, "/任务 取消 <编号> —— 取消任务（管理员）", admin=True),
))

__plugin_meta__ = PluginMetadata(
    name="任务清单",
    description="社区党建任务清单：发布、认领、完成、确认，逾期提醒，确认后记服务积分",
    usage=usage_of(TASK),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["任务", "任务清单", "task"]},
)
register(__plugin_meta__.name, TASK)
