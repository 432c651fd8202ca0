"""RSS of the real bot after start-up and after 30,000 commands from 300 members.

Run by hand:
    python bench/memory_growth.py [--members 300] [--commands 30000] [--trace]

The real bot (bench/bench_bot.py = bot.py) gets a database seeded like bench/command_burst.py
(the members registered, with points, open wishes and a session), then every member sends one
command per round over the real WebSocket (/积分, /我的, /心愿, /积分榜, /帮助, /登记, /签到 with a
wrong code, /民情, /报名 and now and then /许愿), round after round, until ``--commands`` were
sent. Printed: the bot's RSS after start-up and after the commands (target < 150 MB), the
replies received, and how many bytes the log (stdout and the log file) grew per command.
``--trace`` runs the bot under tracemalloc and prints the 25 biggest growths between a snapshot
after start-up and one after the commands (slow: about three times as long).

What held the memory (issue 20, finding 12; tracemalloc snapshot diff over 30,000 commands):

TODO(findings)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pickle
import shutil
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.command_burst import GROUP, MEMBERS_FROM, SHARING_ID, seed  # noqa: E402
from tests.e2e.onebot import BotProcess, OneBotClient  # noqa: E402

COMMANDS = ("/积分", "/我的", "/心愿", "/积分榜", "/帮助", "/登记 {name} {floor}楼 {dorm}",
            "/签到 0000", "/民情", f"/报名 #{SHARING_ID}", "/心愿 我的")
WISH_EVERY = 10  # every tenth round each member also posts a wish (/许愿)
QUIET_SECONDS = 5.0  # a round is over when no reply came for this long


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def command_for(member: int, round_no: int) -> str:
    if round_no % WISH_EVERY == WISH_EVERY - 1:
        return f"/许愿 压测第{round_no}轮的心愿，帮我取个快递"
    template = COMMANDS[(member + round_no) % len(COMMANDS)]
    return template.format(name=f"成员{member}", floor=member % 6 + 1, dorm=300 + member % 40)


async def drive(port: int, members: int, commands: int, rounds_at_once: int = 1
                ) -> tuple[int, int]:
    """Send ``commands`` commands in rounds of one per member, ``rounds_at_once`` rounds
    before waiting for the replies (until as many came as were sent, or none for a while: a
    flood is answered once, then not at all); (sent, replies)."""
    sent = replies = round_no = 0
    async with OneBotClient(port) as qq:
        qq.results["get_group_member_info"] = {"role": "member"}
        while sent < commands:
            batch = 0
            for _ in range(rounds_at_once):
                for m in range(min(members, commands - sent)):
                    await qq.group_message(GROUP, MEMBERS_FROM + m, command_for(m, round_no))
                    sent += 1
                    batch += 1
                round_no += 1
            got = 0
            with contextlib.suppress(TimeoutError):
                while got < batch:
                    call = await qq.next_call(timeout=QUIET_SECONDS)
                    got += call["action"] in ("send_msg", "send_group_msg")
            replies += got
            if round_no % 20 < rounds_at_once:
                print(f"  {sent} commands sent, {replies} replies", flush=True)
    return sent, replies


def snapshot(proc: BotProcess, folder: Path, name: str) -> tracemalloc.Snapshot:
    """Ask the bot (SIGUSR1) for a tracemalloc snapshot and load it."""
    target = folder / f"{name}.snapshot"
    proc.proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 120
    while not target.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("no snapshot from the bot")
        time.sleep(0.2)
    time.sleep(0.5)
    with target.open("rb") as f:
        return pickle.load(f)


def log_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.log*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--commands", type=int, default=30_000)
    parser.add_argument("--at-once", type=int, default=1,
                        help="rounds sent at once before waiting for replies")
    parser.add_argument("--trace", action="store_true", help="tracemalloc snapshot diff")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        template = tmp / "seeded.db"
        asyncio.run(seed(template, args.members))
        db = tmp / "bot" / "memory.db"
        db.parent.mkdir()
        shutil.copy(template, db)
        env = {"LOG_LEVEL": "INFO", "DRIVER": "~fastapi"}
        if args.trace:
            env["BENCH_TRACEMALLOC"] = str(tmp)
        proc = BotProcess(db, tmp / "bot" / "stdout.log", script=ROOT / "bench" / "bench_bot.py",
                          **env)
        try:
            proc.start(timeout=300 if args.trace else 60)
            asyncio.run(drive(proc.port, args.members, args.members))  # warm-up: one round
            time.sleep(1)
            before = rss_mb(proc.proc.pid)
            log_before = log_bytes(tmp / "bot")
            first = snapshot(proc, tmp, "first") if args.trace else None
            print(f"RSS after start-up and one round of {args.members} commands: "
                  f"{before:.0f} MB", flush=True)
            started = time.monotonic()
            sent, replies = asyncio.run(drive(proc.port, args.members, args.commands,
                                                  args.at_once))
            took = time.monotonic() - started
            time.sleep(1)
            after = rss_mb(proc.proc.pid)
            grown = log_bytes(tmp / "bot") - log_before
            print(f"RSS after {sent} commands from {args.members} members: {after:.0f} MB "
                  f"(target < 150 MB); {replies} replies in {took:.0f} s")
            print(f"log grew {grown / sent:.0f} bytes per command (stdout and log file "
                  f"together, LOG_LEVEL=INFO)")
            if args.trace:
                last = snapshot(proc, tmp, "last")
                print("\nbiggest growths (tracemalloc, by line):")
                for stat in last.compare_to(first, "lineno")[:25]:
                    print(f"  {stat}")
                print("\nbiggest growths (tracemalloc, by traceback, top 5):")
                for stat in last.compare_to(first, "traceback")[:5]:
                    print(f"  {stat.size_diff / 1024:.0f} KiB in {stat.count_diff} blocks")
                    for line in stat.traceback.format()[-12:]:
                        print(f"    {line}")
        finally:
            proc.stop()
            if os.environ.get("BENCH_KEEP_LOG"):
                shutil.copy(proc.log_path, os.environ["BENCH_KEEP_LOG"])


if __name__ == "__main__":
    main()
