"""One member floods, another asks: how long does the other wait? (issue 9's probe 4)

Run by hand:  python bench/flood_probe.py [--flood 300] [--runs 5]
The real bot.py over the real WebSocket: a member sends ``--flood`` commands at once, then
another member sends /积分. Printed per run: how long the other member waited for the answer,
how many replies the flooder got (the allowance, one "太快了", then silence) and how many
messages reached the group in total. Target: the other member answered within a second.

Measured here (2 cores, client and bot on the same machine, 5 runs of 300): the other member
waited 0.10–0.25 s; the flooder got 21 replies each run (20 + one warning).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.onebot import BotProcess, OneBotClient  # noqa: E402

GROUP, OWNER, MEMBER, FLOODER = 88001, 63001, 63002, 63003


async def probe(port: int, flood: int) -> tuple[float, int, int]:
    async with OneBotClient(port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        for i in range(flood):
            await qq.group_message(GROUP, FLOODER, f"/心愿 {i % 3 + 1}")
        started = time.perf_counter()
        await qq.group_message(GROUP, MEMBER, "/积分")
        waited, calls = None, []
        while True:
            try:
                call = await qq.next_call(timeout=2)
            except TimeoutError:
                break
            calls.append(call)
            if call["params"].get("user_id") == MEMBER and waited is None:
                waited = time.perf_counter() - started
        to_flooder = sum(c["params"].get("user_id") == FLOODER for c in calls)
        return waited if waited is not None else float("inf"), to_flooder, len(calls)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flood", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    waits = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            proc = BotProcess(Path(tmp) / f"flood{run}.db", Path(tmp) / "bot.log",
                              LOG_LEVEL="WARNING")
            proc.start(timeout=60)
            try:
                waited, to_flooder, total = asyncio.run(probe(proc.port, args.flood))
            finally:
                proc.stop()
            waits.append(waited)
            print(f"run {run + 1}: other member answered after {waited:.3f} s; flooder got "
                  f"{to_flooder} replies; {total} messages in all")
    print(f"median wait {statistics.median(waits):.3f} s, worst {max(waits):.3f} s "
          "(target < 1 s)")


if __name__ == "__main__":
    main()
