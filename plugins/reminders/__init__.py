from nonebot import logger, on_command, require
from nonebot.adapters.onebot.v11 import Message
from nonebot.params import CommandArg
from nonebot.plugin import PluginMetadata

from domain.outbox import text_segment
from domain.reminders import STATE_LABELS, Reminder
from domain.text import require_text
from domain.timeparse import OneShot
from runtime.args import plain_text, record_id, rest_text, tokenize, word
from runtime.context import CommandContext, guarded
from runtime.lifecycle import on_ready, services
from runtime.reply import paginate, text

require("nonebot_plugin_apscheduler")
from nonebot_plugin_apscheduler import scheduler  # noqa: E402

from runtime.scheduling import ReminderScheduler  # noqa: E402

TIME_FORMS = ("时间可写：2026-12-01 19:30、12-01 19:30、明天 19:30、19:30、每天 08:00、"
              "工作日 07:30、每周三 19:00、每月1日 09:00、cron 0 8 * * 1-5")
USAGES = {
    "添加": "/提醒 添加 <时间> <内容> —— 一次性或重复提醒，发到本支部所有群",
    "列表": "/提醒 [列表] —— 本支部的提醒",
    "删除": "/提醒 删除 <编号>",
    "暂停": "/提醒 暂停 <编号>",
    "恢复": "/提醒 恢复 <编号>",
}
ANNOUNCE_USAGE = "/公告 <内容> —— 立即发到本支部所有群"

__plugin_meta__ = PluginMetadata(
    name="提醒与公告",
    description="定时提醒（三会一课等）和公告，重启不丢、按节奏发送",
    usage="\n".join([ANNOUNCE_USAGE, *USAGES.values(), TIME_FORMS]),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["提醒", "公告", "remind", "announce"]},
)

jobs = ReminderScheduler(scheduler, services)

announce_cmd = on_command("公告", aliases={"announce"}, priority=10, block=True)
remind_cmd = on_command("提醒", aliases={"remind"}, priority=10, block=True)


@on_ready
async def rearm_reminders(svc) -> None:
    caught = await jobs.rearm_all()
    logger.info(f"{jobs.armed_count()} reminders armed; {len(caught.fired)} fired late, "
                f"{len(caught.skipped)} skipped as too late")


@announce_cmd.handle()
@guarded
async def announce(ctx: CommandContext, arg: Message = CommandArg()):
    branch = await ctx.require_admin()
    content = plain_text(arg)
    if not content:
        await announce_cmd.finish(text("用法：" + ANNOUNCE_USAGE))
    content = require_text(content, ctx.svc.settings.announce_max_length, "公告")
    queued = await ctx.svc.outbox.to_branch(branch.id, [text_segment(f"📢 公告：{content}")],
                                            "announcement")
    await announce_cmd.finish(text(f"公告已排队，将按发送节奏发到本支部 {queued} 个群。"))


def describe(reminder: Reminder, clock) -> str:
    when = reminder.schedule.describe()
    upcoming = ("" if reminder.next_fire_at is None or isinstance(reminder.schedule, OneShot)
                else f"（下次 {reminder.next_fire_at:%m-%d %H:%M}）")
    state = "" if reminder.state == "active" else f"[{STATE_LABELS[reminder.state]}] "
    return f"#{reminder.id} {state}{when}{upcoming} {reminder.content[:40]}"


@remind_cmd.handle()
@guarded
async def manage_reminders(ctx: CommandContext, arg: Message = CommandArg()):
    branch = await ctx.require_admin()
    reminders = ctx.svc.reminders
    tokens = tokenize(arg)
    action = word(tokens, 0) or "列表"
    if action == "列表":
        if len(tokens) > 1:
            await remind_cmd.finish(text("用法：" + USAGES["列表"]))
        found = await reminders.list(branch.id, ctx.actor)
        if not found:
            await remind_cmd.finish(text("还没有提醒。" + USAGES["添加"]))
        lines = [f"提醒 {len(found)} 个："] + [describe(r, ctx.svc.clock) for r in found]
        pages = paginate(lines, ctx.svc.settings.reply_max_chars)
        for page in pages[:-1]:
            await remind_cmd.send(text(page))
        await remind_cmd.finish(text(pages[-1]))
    if action == "添加":
        body = rest_text(arg, 1)
        if not body:
            await remind_cmd.finish(text("用法：" + USAGES["添加"] + "\n" + TIME_FORMS))
        reminder = await reminders.add(branch.id, ctx.actor, body)
        jobs.arm(reminder)
        await remind_cmd.finish(text(
            f"已添加提醒 #{reminder.id}：{reminder.schedule.describe()} {reminder.content}\n"
            f"首次提醒：{reminder.next_fire_at:%Y-%m-%d %H:%M}"
        ))
    if action not in USAGES:
        await remind_cmd.finish(text("用法：\n" + "\n".join(USAGES.values())))
    reminder_id = record_id(tokens[1]) if len(tokens) == 2 else None
    if reminder_id is None:
        await remind_cmd.finish(text("用法：" + USAGES[action]))
    if action == "删除":
        reminder = await reminders.delete(branch.id, ctx.actor, reminder_id)
        jobs.disarm(reminder.id)
        await remind_cmd.finish(text(f"提醒 #{reminder.id} 已删除。"))
    if action == "暂停":
        reminder = await reminders.pause(branch.id, ctx.actor, reminder_id)
        jobs.disarm(reminder.id)
        await remind_cmd.finish(
            text(f"提醒 #{reminder.id} 已暂停，发送 /提醒 恢复 #{reminder.id} 恢复。")
        )
    if action == "恢复":
        reminder = await reminders.resume(branch.id, ctx.actor, reminder_id)
        jobs.arm(reminder)
        await remind_cmd.finish(text(
            f"提醒 #{reminder.id} 已恢复，下次：{reminder.next_fire_at:%Y-%m-%d %H:%M}。"
        ))
