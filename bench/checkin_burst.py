"""1,000 distinct members check in as fast as a OneBot client can send.

Run by hand:  python bench/checkin_burst.py [--members 1000] [--runs 3]
Measures replies per second of the real bot.py (real database, real session with a code)
and of a bare NoneBot bot answering one on_command (bench/bare/bare_bot.py), in the same run
on the same machine, and prints the ratio (target ≥ 0.8) and how many check-ins were recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import BranchConfig  # noqa: E402
from domain.branches import Actor  # noqa: E402
from domain.services import open_services  # noqa: E402
from tests.e2e.onebot import BotProcess, OneBotClient  # noqa: E402

GROUP = 84001
FIRST_MEMBER = 1_000_000


async def seed(db_path: Path) -> str:
    """A branch with a session open for check-in now; returns its code."""
    svc = await open_services(BranchConfig(), db_path=str(db_path))
    branch = await svc.branches.branch_for_group(GROUP)
    session = await svc.sessions.create(
        branch.id, GROUP, Actor(1, is_superuser=True), "压测导学",
        svc.clock.now() + timedelta(minutes=5), 60, None,
    )
    await svc.db.close()
    return session.code


async def burst(port: int, members: int, text: str) -> float:
    """Send every check-in at once; return seconds until the last reply arrived."""
    async with OneBotClient(port) as qq:
        await qq.reply_to(GROUP, 999, "/签到 warmup" if "bare" in text else "/帮助", timeout=30)
        start = time.perf_counter()
        for i in range(members):
            await qq.group_message(GROUP, FIRST_MEMBER + i, text.replace("bare ", ""))
        replies = 0
        while replies < members:
            call = await qq.next_call(timeout=60)
            replies += call["action"] == "send_msg"
        return time.perf_counter() - start


def run(script: Path, db: Path, log: Path, members: int, text: str) -> float:
    proc = BotProcess(db, log, script=script, LOG_LEVEL="WARNING", DRIVER="~fastapi")
    proc.start(timeout=60)
    try:
        return asyncio.run(burst(proc.port, members, text))
    finally:
        proc.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ours, bare, recorded = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run_no in range(args.runs):
            db = Path(tmp) / f"burst{run_no}.db"
            code = asyncio.run(seed(db))

            def measure_ours(db: Path = db, code: str = code) -> None:
                ours.append(args.members / run(ROOT / "bot.py", db, Path(tmp) / "ours.log",
                                               args.members, f"/签到 {code}"))

            def measure_bare() -> None:
                bare.append(args.members / run(ROOT / "bench" / "bare" / "bare_bot.py",
                                               Path(tmp) / "bare.db", Path(tmp) / "bare.log",
                                               args.members, "bare /签到"))

            # alternate the order so that drift on the machine does not favour either bot
            for measure in ((measure_ours, measure_bare) if run_no % 2 == 0
                            else (measure_bare, measure_ours)):
                measure()
            recorded.append(sqlite3.connect(db).execute(
                "SELECT COUNT(*) FROM checkins").fetchone()[0])
            print(f"run {run_no + 1}: 支部助手 {ours[-1]:.0f} replies/s, bare NoneBot "
                  f"{bare[-1]:.0f} replies/s, ratio {ours[-1] / bare[-1]:.2f}, "
                  f"recorded {recorded[-1]}/{args.members}")
    ratios = [o / b for o, b in zip(ours, bare, strict=True)]
    print(f"median: 支部助手 {statistics.median(ours):.0f} replies/s; bare NoneBot "
          f"{statistics.median(bare):.0f} replies/s; median of per-run ratios "
          f"{statistics.median(ratios):.2f} (target ≥ 0.8)")
    print(f"check-ins recorded: {recorded} of {args.members} each run")


if __name__ == "__main__":
    main()
