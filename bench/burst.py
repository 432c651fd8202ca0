"""What the burst benchmarks share: send a plan of messages at once to a bot over the real
WebSocket and time the replies (bench/command_burst.py, bench/poll_burst.py)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.onebot import BotProcess, OneBotClient  # noqa: E402

Plan = list[tuple[str, list[tuple[int, str]]]]  # (row name, [(sender, text)])


async def burst(qq: OneBotClient, group: int, messages: list[tuple[int, str]]) -> float:
    """Send every message at once; seconds until every command was answered (merged replies
    count once per person they address)."""
    start = time.perf_counter()
    for user_id, content in messages:
        await qq.group_message(group, user_id, content)
    answered = 0
    while answered < len(messages):
        call = await qq.next_call(timeout=120)
        if call["action"] == "send_msg":  # a merged reply answers each person it mentions
            answered += max(1, sum(s["type"] == "at" for s in call["params"]["message"]))
    return time.perf_counter() - start


async def measure(port: int, group: int, plan: Plan, warm_up: str) -> dict[str, float]:
    """Replies per second for each row of ``plan``, after one warm-up command."""
    async with OneBotClient(port) as qq:
        await qq.reply_to(group, 999, warm_up, timeout=30)
        while not qq.calls.empty():
            qq.calls.get_nowait()
        return {name: len(messages) / await burst(qq, group, messages)
                for name, messages in plan}


def run_bot(script: Path, db: Path, log: Path, group: int, plan: Plan, warm_up: str,
            **env: str) -> dict[str, float]:
    """Start ``script`` on a free port with ``db``, measure ``plan``, stop it."""
    proc = BotProcess(db, log, script=script, LOG_LEVEL="WARNING", DRIVER="~fastapi", **env)
    proc.start(timeout=60)
    try:
        return asyncio.run(measure(proc.port, group, plan, warm_up))
    finally:
        proc.stop()
