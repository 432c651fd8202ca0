"""Start-up time of the real bot.py with 1,000 stored reminders (target: under 3 s).

Run by hand:  python bench/startup_reminders.py [--reminders 1000] [--runs 3]
Prints the time from process start to accepting WebSocket connections and to the log line
that says every reminder was re-armed.
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

from config import BranchConfig  # noqa: E402
from domain.branches import Actor  # noqa: E402
from domain.services import open_services  # noqa: E402
from tests.e2e.onebot import BotProcess  # noqa: E402

FORMS = ["每天 {h:02d}:{m:02d}", "工作日 {h:02d}:{m:02d}", "每周三 {h:02d}:{m:02d}",
         "每月{d}日 {h:02d}:{m:02d}", "12-31 {h:02d}:{m:02d}", "cron {m} {h} * * 1-5"]


async def seed(db_path: Path, count: int) -> None:
    svc = await open_services(BranchConfig(), db_path=str(db_path))
    admin = Actor(1, is_superuser=True)
    for i in range(count):
        branch = await svc.branches.branch_for_group(100000 + i % 50)
        form = FORMS[i % len(FORMS)].format(h=i % 24, m=i % 60, d=1 + i % 28)
        await svc.reminders.add(branch.id, admin, f"{form} 提醒{i}")
    await svc.db.close()


def measure(db_path: Path, log_dir: Path, run: int, count: int) -> tuple[float, float]:
    proc = BotProcess(db_path, log_dir / f"bench{run}.log", LOG_LEVEL="INFO")
    t0 = time.perf_counter()
    proc.start(timeout=60)
    listening = time.perf_counter() - t0
    armed = None
    while time.perf_counter() - t0 < 60:
        if f"{count} reminders armed" in proc.log():
            armed = time.perf_counter() - t0
            break
        time.sleep(0.02)
    proc.stop()
    if armed is None:
        raise SystemExit(f"reminders were not armed: {proc.log()[-2000:]}")
    return listening, armed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reminders", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        t = time.perf_counter()
        asyncio.run(seed(db_path, args.reminders))
        print(f"seeded {args.reminders} reminders in {time.perf_counter() - t:.1f} s")
        results = [measure(db_path, Path(tmp), run, args.reminders) for run in range(args.runs)]
    listening = [r[0] for r in results]
    armed = [r[1] for r in results]
    print(f"accepting connections: median {statistics.median(listening):.2f} s "
          f"(runs: {', '.join(f'{x:.2f}' for x in listening)})")
    print(f"all {args.reminders} reminders re-armed (log line seen): median "
          f"{statistics.median(armed):.2f} s (runs: {', '.join(f'{x:.2f}' for x in armed)})")
    print("target: under 3 s to accepting connections")


if __name__ == "__main__":
    main()
