from nonebot import logger, require
from nonebot.plugin import PluginMetadata

from domain.outbox import text_segment
from domain.reminders import STATE_LABELS, Reminder
from domain.text import require_text
from domain.timeparse import OneShot
from runtime.args import record_id
from runtime.lifecycle import on_ready, services
from runtime.reply import paginate
from runtime.router import Call, Command, Sub, Usage, register, usage_of

require("nonebot_plugin_apscheduler")
from nonebot_plugin_apscheduler import scheduler  # noqa: E402

from runtime.scheduling import ReminderScheduler  # noqa: E402

TIME_FORMS = ("时间可写：2026-12-01 19:30、12-01 19:30、明天 19:30、19:30、每天 08:00、"
              "工作日 07:30、每周三 19:00、每月1日 09:00、cron 0 8 * * 1-5")

jobs = ReminderScheduler(scheduler, services)


@on_ready
async def rearm_reminders(svc) -> None:
    caught = await jobs.rearm_all()
    logger.info(f"{jobs.armed_count()} reminders armed; {len(caught.fired)} fired late, "
                f"{len(caught.skipped)} skipped as too late")


async def announce(call: Call):
    content = call.text
    if not content:
        raise Usage()
    ctx = call.ctx
    content = require_text(content, ctx.svc.settings.announce_max_length, "公告")
    queued = await ctx.svc.outbox.to_branch(ctx.branch.id, [text_segment(f"📢 公告：{content}")],
                                            "announcement")
    return f"公告已排队，将按发送节奏发到本支部 {queued} 个群。"


def describe(reminder: Reminder) -> str:
    when = reminder.schedule.describe()
    upcoming = ("" if reminder.next_fire_at is None or isinstance(reminder.schedule, OneShot)
                else f"（下次 {reminder.next_fire_at:%m-%d %H:%M}）")
    state = "" if reminder.state == "active" else f"[{STATE_LABELS[reminder.state]}] "
    return f"#{reminder.id} {state}{when}{upcoming} {reminder.content[:40]}"


async def list_reminders(call: Call):
    if call.tokens:
        raise Usage()
    ctx = call.ctx
    found = await ctx.svc.reminders.list(ctx.branch.id, ctx.actor)
    if not found:
        return "还没有提醒。" + ADD_USAGE
    lines = [f"提醒 {len(found)} 个："] + [describe(r) for r in found]
    return paginate(lines, ctx.svc.settings.reply_max_chars)


async def add_reminder(call: Call):
    body = call.rest()
    if not body:
        raise Usage()
    reminder = await call.ctx.svc.reminders.add(call.ctx.branch.id, call.ctx.actor, body)
    jobs.arm(reminder)
    return (f"已添加提醒 #{reminder.id}：{reminder.schedule.describe()} {reminder.content}\n"
            f"首次提醒：{reminder.next_fire_at:%Y-%m-%d %H:%M}")


def reminder_id(call: Call) -> int:
    found = record_id(call.tokens[0]) if len(call.tokens) == 1 else None
    if found is None:
        raise Usage()
    return found


async def delete_reminder(call: Call):
    reminder = await call.ctx.svc.reminders.delete(call.ctx.branch.id, call.ctx.actor,
                                                   reminder_id(call))
    jobs.disarm(reminder.id)
    return f"提醒 #{reminder.id} 已删除。"


async def pause_reminder(call: Call):
    reminder = await call.ctx.svc.reminders.pause(call.ctx.branch.id, call.ctx.actor,
                                                  reminder_id(call))
    jobs.disarm(reminder.id)
    return f"提醒 #{reminder.id} 已暂停，发送 /提醒 恢复 #{reminder.id} 恢复。"


async def resume_reminder(call: Call):
    reminder = await call.ctx.svc.reminders.resume(call.ctx.branch.id, call.ctx.actor,
                                                   reminder_id(call))
    jobs.arm(reminder)
    return f"提醒 #{reminder.id} 已恢复，下次：{reminder.next_fire_at:%Y-%m-%d %H:%M}。"


ADD_USAGE = "/提醒 添加 <时间> <内容> —— 一次性或重复提醒，发到本支部所有群"
ANNOUNCE = Command("公告", aliases=("announce",), admin=True, subs=(
    Sub(None, announce, "/公告 <内容> —— 立即发到本支部所有群", creates=True),
))
REMIND = Command("提醒", aliases=("remind",), admin=True, subs=(
    Sub("列表", list_reminders, "/提醒 [列表] —— 本支部的提醒", default=True),
    Sub("添加", add_reminder, f"{ADD_USAGE}\n{TIME_FORMS}", creates=True),
    Sub("删除", delete_reminder, "/提醒 删除 <编号>"),
    Sub("暂停", pause_reminder, "/提醒 暂停 <编号>"),
    Sub("恢复", resume_reminder, "/提醒 恢复 <编号>"),
))

__plugin_meta__ = PluginMetadata(
    name="提醒与公告",
    description="定时提醒（三会一课等）和公告，重启不丢、按节奏发送",
    usage=usage_of(ANNOUNCE, REMIND),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["提醒", "公告", "remind", "announce"]},
)
register(__plugin_meta__.name, ANNOUNCE, REMIND)
