"""The real bot on a date of the test's choosing: New Year's Eve, a Sunday, seconds to midnight.

Every other end-to-end test runs on ``ZHIBU_TEST_CLOCK`` (the wall clock unless set); this one
always starts the bot's clock at 23:59:50 on the next Sunday 31 December, so CI proves on any
day that the offset clock reaches the scheduler and that midnight, the week and the year turn
over as a member would expect.
"""

from datetime import timedelta

from tests.e2e.onebot import BotProcess, BotTime, OneBotClient, message_text
from tests.e2e.test_queue_and_reminders import next_action

GROUP = 81501
OWNER = 60501


async def test_a_reminder_at_midnight_on_new_years_eve_fires_in_the_new_year(
        tmp_path, bot_clock: BotTime):
    bot_clock.start_at("sunday 12-31 23:59:50")
    proc = BotProcess(tmp_path / "nye.db", tmp_path / "bot.log")
    proc.start()
    try:
        async with OneBotClient(proc.port) as qq:
            await qq.set_up_group(GROUP, OWNER)
            now = bot_clock.now()
            assert (now.month, now.day, now.weekday()) == (12, 31, 6), now
            new_year = now.year + 1
            call = await qq.reply_to(GROUP, OWNER, "/提醒 添加 00:00 新年快乐", role="owner")
            assert f"首次提醒：{new_year}-01-01 00:00" in message_text(call)
            # the week turns over at midnight too: next Monday is New Year's Day
            call = await qq.reply_to(GROUP, OWNER, "/提醒 添加 每周一 09:00 周例会", role="owner")
            assert f"首次提醒：{new_year}-01-01 09:00" in message_text(call)
            call = await qq.reply_to(GROUP, OWNER, "/学期", role="owner")
            assert f"{now.year}-{new_year}学年第一学期" in message_text(call)
            # the one-off fires at the bot's midnight, a few real seconds from now
            seconds_left = ((now + timedelta(days=1)).replace(hour=0, minute=0, second=0)
                            - bot_clock.now()).total_seconds()
            fired = await next_action(qq, "send_group_msg", timeout=seconds_left + 15)
            assert "新年快乐" in message_text(fired)
            assert bot_clock.now().year == new_year
    finally:
        proc.stop()
