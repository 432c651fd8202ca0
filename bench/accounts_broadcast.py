"""One announcement to 12 groups over the real WebSocket: one QQ account against three.

Run by hand:
    python bench/accounts_broadcast.py [--groups 12] [--rate 20]

The real bot.py and the simulated QQ (tools/qqworld.py, NapCat profile). Run 1: one account in
all the groups. Run 2: three accounts, each in 8 of the 12 (every group has two), connected
over three WebSocket connections, as issue 22 describes. The same `/公告` goes to every group at
`send_rate_per_minute` per account (the default 20: one send every 3 s per account). Printed:
the seconds until the last group shows it, for each run, and their ratio.

Measured 2026-12-05 on the shared 2-core machine (wall-clock seconds; the pacing dominates, so
load matters little):

  1 account: 33.1 s   3 accounts: 12.0 s   ratio 0.36

One account carries 12 groups 3 s apart. Three carry 4 each at best (9 s, 0.27: what
bench/send_pace.py measures on the bot's clock); here the accounts free at the same moment
sometimes find only groups another free account is also in, so a fifth round is needed. Before
an account's group list was trusted, it tried groups it was not known to be in, was refused
and lost its turn: 15.0 s (0.46).
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

from tests.e2e.onebot import BotProcess, OneBotClient, QQWorld  # noqa: E402

OWNER = 10000  # the bot's superuser in BotProcess
ACCOUNTS = (3000000001, 3000000002, 3000000003)


def membership(groups: list[int], accounts: int) -> dict[int, list[int]]:
    if accounts == 1:
        return {ACCOUNTS[0]: groups}
    return {a: [g for j, g in enumerate(groups) if (j - 4 * i) % len(groups) < 8]
            for i, a in enumerate(ACCOUNTS[:accounts])}


async def until(found, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        if time.monotonic() > deadline:
            raise RuntimeError("never")
        await asyncio.sleep(0.02)


async def broadcast(port: int, groups: list[int], accounts: int) -> float:
    world = QQWorld()
    for account, inside in membership(groups, accounts).items():
        for group in inside:
            world.group(group, accounts=[account], members=[OWNER])
    clients = [OneBotClient(port, self_id=a, world=world, profile="napcat")
               for a in ACCOUNTS[:accounts]]
    for client in clients:
        await client.__aenter__()
    try:
        first = groups[0]
        await world.group_message(first, OWNER, "/支部 创建 全校", "owner")
        await until(lambda: world.group_texts(first, bots_only=True))
        for group in groups[1:]:
            await world.group_message(group, OWNER, "/支部 绑定 #1", "owner")
        await until(lambda: all(world.group_texts(g, bots_only=True) for g in groups))
        await asyncio.sleep(8)  # the set-up replies' pacing window passes
        start = time.monotonic()
        await world.group_message(first, OWNER, "/公告 全校支部大会今晚七点", "owner")
        await until(lambda: all(any("全校支部大会" in x and "公告" in x
                                    for x in world.group_texts(g, bots_only=True))
                                for g in groups))
        return time.monotonic() - start
    finally:
        for client in clients:
            await client.__aexit__(None, None, None)


def run(accounts: int, groups: list[int], rate: int) -> float:
    with tempfile.TemporaryDirectory(prefix="zhibu-accounts-") as folder:
        proc = BotProcess(Path(folder) / "bench.db", Path(folder) / "bot.log",
                          LOG_LEVEL="WARNING", SEND_RATE_PER_MINUTE=str(rate))
        proc.start(timeout=60)
        try:
            return asyncio.run(broadcast(proc.port, groups, accounts))
        finally:
            proc.stop()


def main(count: int, rate: int) -> None:
    groups = [97000 + i for i in range(count)]
    one = run(1, groups, rate)
    three = run(3, groups, rate)
    print(f"{count} groups at {rate}/min per account: 1 account {one:.1f} s, "
          f"3 accounts {three:.1f} s, ratio {three / one:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groups", type=int, default=12)
    parser.add_argument("--rate", type=int, default=20)
    args = parser.parse_args()
    main(args.groups, args.rate)
