"""A flood of commands in one group, over the real WebSocket, at the default reply pace.

Run by hand:
    python bench/reply_flood.py [--members 200] [--each 20]

Every one of ``members`` registered members sends ``each`` commands at once to one group
(``/积分``: a short answer that differs per person), with the bot's default settings
(``reply_interval_seconds`` 1.5, ``flood_burst`` 20). Midway, one more member, not part of the
flood, sends ``/我的``. Printed: commands answered (an @-mention in a merged message counts as
one answer), messages the group received, the peak of messages in any one second and the
average rate, the time until the last answer, and the other member's wait.

Before (issue 20, finding 7), each reply was sent at once: 200 × 20 commands gave 4,001 replies
in 18 s, peaking at 1,272 per second to one group, and another member waited 17.7 s.

Measured 2026-12-05 (2 cores shared with other work), 200 members × 20 commands:

  answered 4001 of 4001 commands in 224 messages
  peak 1 message in any second; 0.65 messages/s on average (one every 1.5 s)
  the last answer after 346 s; the other member's /我的 answered after 10.1 s

The other member's wait is the bot working through the 2,000 commands that came before theirs
(each is handled; the reply is cheap to hold back, the command is not); once handled, people
take turns in the merged messages, so theirs goes in the next one rather than after the
flooders' twentieth answers. The flood itself is answered in full but at the group's pace: 200
different answers of ~60 characters fit ~20 to a message, so 4,000 take about six minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import BranchConfig  # noqa: E402
from domain.branches import Actor  # noqa: E402
from domain.services import open_services  # noqa: E402
from tests.e2e.onebot import BotProcess, OneBotClient  # noqa: E402

GROUP = 86001
MEMBERS_FROM = 3_000_000
OTHER = 3_900_000


async def seed(db_path: Path, members: int) -> None:
    svc = await open_services(BranchConfig(), db_path=str(db_path))
    try:
        branch = await svc.branches.branch_for_group(GROUP)
        admin = Actor(1, is_superuser=True)
        for i in range(members):
            await svc.branches.register(branch.id, MEMBERS_FROM + i, f"成员{i}", "3楼", None)
            await svc.points.adjust(branch.id, admin, MEMBERS_FROM + i, i % 9 + 1, "压测")
        await svc.branches.register(branch.id, OTHER, "旁观者", "3楼", None)
    finally:
        await svc.db.close()


def answers(call: dict) -> int:
    """Commands one message answers: each @-mention in a merged message, else one."""
    mentions = sum(seg["type"] == "at" for seg in call["params"]["message"])
    return max(mentions, 1)


async def flood(port: int, members: int, each: int) -> dict:
    async with OneBotClient(port) as qq:
        commands = members * each + 1
        start = time.perf_counter()
        for round_ in range(each):
            for i in range(members):
                await qq.group_message(GROUP, MEMBERS_FROM + i, "/积分")
            if round_ == each // 2:
                other_sent = time.perf_counter()
                await qq.group_message(GROUP, OTHER, "/我的")
        answered, times, other_wait = 0, [], None
        while answered < commands:
            call = await qq.next_call(timeout=120)
            if call["action"] != "send_msg":
                continue
            now = time.perf_counter()
            times.append(now - start)
            answered += answers(call)
            if other_wait is None and any(
                    seg["type"] == "text" and "旁观者" in seg["data"]["text"]
                    for seg in call["params"]["message"]):
                other_wait = now - other_sent
        peak = max(sum(1 for t in times if s <= t < s + 1) for s in times)
        return {"commands": commands, "answered": answered, "messages": len(times),
                "peak": peak, "rate": len(times) / times[-1], "last": times[-1],
                "other_wait": other_wait}


def main(members: int, each: int) -> None:
    with tempfile.TemporaryDirectory(prefix="zhibu-flood-") as folder:
        db = Path(folder) / "flood.db"
        asyncio.run(seed(db, members))
        # the default reply pace and flood limit (the test harness turns the pace off)
        proc = BotProcess(db, Path(folder) / "bot.log", LOG_LEVEL="WARNING",
                          REPLY_INTERVAL_SECONDS="1.5")
        proc.start(timeout=60)
        try:
            r = asyncio.run(flood(proc.port, members, each))
        finally:
            proc.stop()
    print(f"answered {r['answered']} of {r['commands']} commands in {r['messages']} messages")
    print(f"peak {r['peak']} message(s) in any second; {r['rate']:.2f} messages/s on average")
    print(f"the last answer after {r['last']:.0f} s; the other member's /我的 answered after "
          f"{r['other_wait']:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--each", type=int, default=20)
    args = parser.parse_args()
    main(args.members, args.each)
