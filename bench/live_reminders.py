"""By-hand live check: reminders added, bot restarted, each fires once at its minute.

Run:  python bench/live_reminders.py
Adds a daily reminder and a one-off for two minutes from now (Asia/Shanghai) through a real
OneBot v11 connection, restarts bot.py, then records when each reminder reaches the group.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.onebot import BotProcess, OneBotClient, message_text  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
GROUP, OWNER = 82001, 61001


async def main() -> None:
    target = (datetime.now(TZ) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    hhmm = target.strftime("%H:%M")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "live.db"
        first = BotProcess(db, Path(tmp) / "one.log")
        first.start()
        async with OneBotClient(first.port) as qq:
            for text in (f"/提醒 添加 每天 {hhmm} 每日例会", f"/提醒 添加 {hhmm} 一次性提醒"):
                call = await qq.reply_to(GROUP, OWNER, text, role="owner")
                print("reply:", message_text(call).replace("\n", " | "))
        first.stop()
        print(f"restarted; waiting for {target:%Y-%m-%d %H:%M} Asia/Shanghai")
        second = BotProcess(db, Path(tmp) / "two.log")
        second.start()
        fired = []
        async with OneBotClient(second.port) as qq:
            deadline = time.time() + (target - datetime.now(TZ)).total_seconds() + 45
            while time.time() < deadline:
                try:
                    call = await qq.next_call(timeout=max(deadline - time.time(), 0.1))
                except asyncio.TimeoutError:
                    break
                if call["action"] == "send_group_msg":
                    at = datetime.now(TZ)
                    fired.append((at, message_text(call)))
                    print(f"{at:%H:%M:%S.%f} group {call['params']['group_id']}: "
                          f"{message_text(call)}")
        second.stop()
    texts = sorted(t for _, t in fired)
    ok = texts == ["⏰ 提醒：一次性提醒", "⏰ 提醒：每日例会"] and all(
        at.strftime("%H:%M") == hhmm for at, _ in fired)
    print("RESULT:", "each fired once at the right minute" if ok else f"UNEXPECTED {fired}")


if __name__ == "__main__":
    asyncio.run(main())
