"""RSS of the real bot after start-up and after 30,000 commands from 300 members.

Run by hand:
    python bench/memory_growth.py [--members 300] [--commands 30000] [--at-once 1] [--trace]

The real bot (bench/bench_bot.py = bot.py) gets a database seeded like bench/command_burst.py
(the members registered, with points, open wishes and a session), then every member sends one
command per round over the real WebSocket (/积分, /我的, /心愿, /积分榜, /帮助, /登记, /签到 with a
wrong code, /民情, /报名, /心愿 我的, and every tenth round /许愿). ``--at-once 1`` sends a round
a second (each member within the flood limit); ``--at-once 10`` sends ten rounds (3,000
commands) before waiting for the replies, ``--at-once 100`` all 30,000 at once (the flood limit
is raised for the bench: it is not what is measured). Printed: the bot's RSS after start-up and
one round, and after the commands once answered (target < 150 MB); how many bytes the log grew
per command (standard output and the log file together). ``--trace`` runs the bot under
tracemalloc and prints the biggest growths between a snapshot after start-up and one after the
commands (slow: use --commands 3000).

What held the memory (issue 20, finding 12). RSS grew with the bursts, not with the commands:
the OneBot adapter started a task for every frame as it arrived, so a burst of N commands was N
events parsed and handled at once. The tracemalloc diff over 15,000 commands sent ten rounds at
a time (before the fix) was all per-event work in flight: pydantic event models
(type_adapter.py:410, 3.6 MB in 20,666 blocks), frames waiting in uvicorn's receive queue
(websockets_sansio_impl.py:294, 3.5 MB in 10,605 frames), NoneBot's handling of each event
(AsyncExitStack, anyio task groups, asyncio locks and events, 1.2-1.4 MB each), the events' JSON
dicts (1.3 MB) and loguru records. Python frees them after the burst, but the process keeps the
pages of the peak: RSS never came back down. Per person, the duplicate filter kept every
command's full text for 120 s (up to 50,000 of them, each up to the event's size); previewed
roster imports (each holding its file) and conversations that ran out were never dropped.

The fix (runtime/adapter.py): frames are read as they come (API answers routed at once) and
events queue as their text, handled by ``event_workers`` (256) workers per connection; the
duplicate filter keeps a 16-byte digest of the text; expired conversations and previews are
dropped, and every per-person map is capped. With a tracemalloc diff after the fix (3,000
commands, a round a second) what remains is the duplicate filter's entries (about 450 bytes
per event remembered for ``duplicate_window_seconds``, at most 50,000) and the last event each
worker handled.

Measured on the 2-core dev box, 300 members, 30,000 commands, RSS after start-up -> after:

    mode                       before the fix             after
    a round a second           81 -> 109 MB               80 -> 105 MB
    ten rounds at a time       82 -> 306 MB (88 s)        80 -> 107 MB (67 s)
    all 30,000 at once         82 -> 983 MB, still        81 -> 109 MB; 20,256 answered, the
                               working through them       rest dropped at event_queue_max
                               48 s later                 (20,000 waiting), each logged

The log grew 362 bytes per command before (three lines on standard output, no rotation) and
284 after for standard output and the log file together (one line of about 140 bytes in each;
the file rotates at ``log_max_mb``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pickle
import re
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
FIRST_REPLY = 300.0  # ... after its first reply, which may take this long


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
            started = time.monotonic()
            batch = 0
            for _ in range(rounds_at_once):
                for m in range(min(members, commands - sent)):
                    await qq.group_message(GROUP, MEMBERS_FROM + m, command_for(m, round_no))
                    sent += 1
                    batch += 1
                round_no += 1
            got = 0
            if rounds_at_once == 1:  # one command per member per second: within the flood limit
                await asyncio.sleep(max(0.0, started + 1.0 - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                while got < batch:  # a bot far behind may take long to answer the first
                    call = await qq.next_call(timeout=QUIET_SECONDS if got else FIRST_REPLY)
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
        # the flood limit would silence members sending 10 or 100 at once: not measured here
        env = {"LOG_LEVEL": "INFO", "DRIVER": "~fastapi", "FLOOD_BURST": "1000"}
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
            dropped = re.findall(r"(\d+) events dropped so far", proc.log())
            if dropped:
                print(f"at least {dropped[-1]} events dropped: the queue was full "
                      "(event_queue_max)")
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
