"""Points boards and the branch report at scale: 5,000 members and 500,000 ledger entries.

Run by hand:  python bench/points_scale.py [--members 5000] [--entries 500000] [--repeat 30]
              [--db PATH] [--profile]
Seeds one synthetic branch (members over the five identities and twelve floors, a term of
~120 days of ledger entries, wishes in every state, sessions with check-ins and notes) into a
temporary database (or PATH; an already seeded PATH is reused), then measures the service time
of /积分榜 (周/月/学期/总), /积分 and /统计: perf_counter around the awaited domain call, after
one warm-up call, ``--repeat`` times each. Prints median and p90 against the targets (50 ms for
the boards and /积分, 300 ms for /统计), peak RSS and the database size. ``--profile`` adds a
cProfile of one call of every measurement that missed its target.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import math
import pstats
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import IDENTITIES, BranchConfig  # noqa: E402
from domain.branches import Actor  # noqa: E402
from domain.clock import FrozenClock  # noqa: E402
from domain.models import WishState  # noqa: E402
from domain.services import Services, open_services  # noqa: E402
from storage.ledger import INSERT_SQL  # noqa: E402
from storage.sessions import SessionRepository  # noqa: E402
from storage.wishes import WishRepository  # noqa: E402

GROUP = 85001
FIRST_MEMBER = 10_000_000
TERM_DAYS = 120
CHUNK = 25_000
SEED = 20240901
BOARD_TARGET_MS = 50.0
REPORT_TARGET_MS = 300.0
FLOORS = [f"{n}楼" for n in range(1, 13)]
# group-typical spread: many 群众 and 积极分子, fewer at each later stage
IDENTITY_WEIGHTS = dict(zip(IDENTITIES, (30, 30, 12, 10, 18), strict=True))
# (category, weight, possible deltas, reason)
LEDGER_KINDS = [
    ("出勤", 35, (2,), "导学签到"),
    ("互动", 40, (1, 1, 2), "群内互动"),
    ("服务", 15, (5, 5, 7), "完成心愿"),
    ("奖惩", 10, (-5, -3, -2, 2, 3, 5, 10), "支委调整"),
]


def rss_mb() -> tuple[float, float]:
    """(peak RSS, current RSS) of this process in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    current = 0.0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak, current


def db_size_mb(path: Path) -> str:
    sizes = {suffix: Path(f"{path}{suffix}").stat().st_size / 2**20
             for suffix in ("", "-wal") if Path(f"{path}{suffix}").exists()}
    return " + ".join(f"{size:.1f} MB{' (WAL)' if suffix else ''}"
                      for suffix, size in sizes.items())


# seeding ---------------------------------------------------------------------------------------


async def seed_members(svc: Services, branch_id: int, count: int, rng: random.Random,
                       now: int) -> list[tuple[int, str]]:
    """Profiles through MemberRepository; returns (user, identity) of the active ones."""
    repo = svc.branches.members
    identities = rng.choices(list(IDENTITY_WEIGHTS), list(IDENTITY_WEIGHTS.values()), k=count)
    active = []
    async with svc.db.transaction():
        for i in range(count):
            user_id = FIRST_MEMBER + i
            floor = None if i % 50 == 49 else FLOORS[i % len(FLOORS)]
            dorm = None if floor is None else f"{floor[:-1]}-{(i // 12) % 40 + 1:02d}"
            await repo.upsert_profile(branch_id, user_id, f"成员{i:04d}", floor, dorm, now)
            changes = {}
            if identities[i] != "群众":
                changes["identity"] = identities[i]
            if i % 250 == 0:
                changes["is_committee"] = True
            if changes:
                await repo.update_roles(branch_id, user_id, now=now, **changes)
            if i % 100 == 99:  # about 1% left the branch
                await repo.deactivate(branch_id, user_id, now)
            else:
                active.append((user_id, identities[i]))
    return active


def ledger_chunks(svc: Services, branch_id: int, term_id: int, users: list[int], entries: int,
                  start: int, end: int, rng: random.Random):
    """Ledger rows for INSERT_SQL, in ascending time (as an append-only ledger grows)."""
    kinds = [k[0] for k in LEDGER_KINDS]
    weights = [k[1] for k in LEDGER_KINDS]
    deltas = {k[0]: k[2] for k in LEDGER_KINDS}
    reasons = {k[0]: k[3] for k in LEDGER_KINDS}
    days: dict[int, str] = {}  # quarter-hour -> local day (every zone offset is a multiple)
    chunks = math.ceil(entries / CHUNK)
    span = (end - start) / chunks
    for c in range(chunks):
        n = min(CHUNK, entries - c * CHUNK)
        lo = start + int(c * span)
        hi = start + int((c + 1) * span)
        stamps = sorted(rng.randrange(lo, hi) for _ in range(n))
        cats = rng.choices(kinds, weights, k=n)
        who = rng.choices(users, k=n)
        rows = []
        for ts, cat, user_id in zip(stamps, cats, who, strict=True):
            quarter = ts // 900
            day = days.get(quarter)
            if day is None:
                day = days[quarter] = svc.clock.from_timestamp(quarter * 900).strftime("%Y-%m-%d")
            rows.append((branch_id, term_id, user_id, cat, rng.choice(deltas[cat]),
                         reasons[cat], None, None, None, ts, day))
        yield rows


async def seed_wishes(svc: Services, branch_id: int, members: list[tuple[int, str]],
                      count: int, start: int, now: int, rng: random.Random) -> None:
    """Wishes in every state through WishRepository (create, transition, events)."""
    repo = WishRepository(svc.db)
    S = WishState
    eligible = [u for u, ident in members if ident in svc.settings.wish_claim_identities]
    users = [u for u, _ in members]
    plan = rng.choices(["open", "claimed", "awaiting", "completed", "auto", "withdrawn",
                        "closed"], [12, 12, 8, 45, 8, 10, 5], k=count)
    async with svc.db.transaction():
        for i, fate in enumerate(plan):
            created = rng.randrange(start + 3600, now - 3600)
            wisher = rng.choice(users)
            wish_id = await repo.create(branch_id, GROUP, wisher, f"心愿{i}：请帮忙搬宿舍的书",
                                        created)
            await repo.add_event(wish_id, wisher, "发布", None, created)
            if fate in ("withdrawn", "closed"):
                state = S.WITHDRAWN if fate == "withdrawn" else S.CLOSED
                at = rng.randrange(created, now)
                await repo.transition(wish_id, (S.OPEN,), state, ended_at=at,
                                      end_reason=None if fate == "withdrawn" else "重复")
                await repo.add_event(wish_id, wisher, "撤回" if fate == "withdrawn" else "关闭",
                                     None, at)
                continue
            if fate == "open":
                continue
            claimer = rng.choice(eligible)
            while claimer == wisher:
                claimer = rng.choice(eligible)
            claimed = rng.randrange(created, now)
            await repo.transition(wish_id, (S.OPEN,), S.CLAIMED, claimer_id=claimer,
                                  claimed_at=claimed)
            await repo.add_event(wish_id, claimer, "认领", None, claimed)
            if fate == "claimed":
                continue
            done = rng.randrange(claimed, now)
            await repo.transition(wish_id, (S.CLAIMED,), S.AWAITING_RATING, done_at=done,
                                  done_note="已送到")
            await repo.add_event(wish_id, claimer, "完成", "已送到", done)
            if fate == "awaiting":
                continue
            finished = rng.randrange(done, now)
            if fate == "auto":
                await repo.transition(wish_id, (S.AWAITING_RATING,), S.COMPLETED,
                                      completed_at=finished, auto_completed=True)
                await repo.add_event(wish_id, None, "自动完成", "7 天未评价", finished)
            else:
                rating = rng.choices([5, 4, 3, 2, 1], [50, 25, 12, 8, 5])[0]
                await repo.transition(wish_id, (S.AWAITING_RATING,), S.COMPLETED, rating=rating,
                                      rating_comment="谢谢", completed_at=finished)
                await repo.add_event(wish_id, wisher, "评价", str(rating), finished)


async def seed_sessions(svc: Services, branch_id: int, members: list[tuple[int, str]],
                        count: int, start: int, now: int,
                        rng: random.Random) -> tuple[int, int]:
    """Sessions through SessionRepository, check-ins and notes in bulk; (check-ins, notes)."""
    repo = SessionRepository(svc.db)
    eligible = [u for u, ident in members if ident in svc.settings.wish_claim_identities]
    users = [u for u, _ in members]
    checkins, notes = [], []
    async with svc.db.transaction():
        for i in range(count):
            # spread over the term; the last two are still to come
            starts = start + 86400 + int((now - start - 2 * 86400) * i / max(count - 2, 1))
            if i >= count - 2:
                starts = now + (i - count + 3) * 86400
            session_id = await repo.create(
                branch_id=branch_id, group_id=GROUP, topic=f"导学第{i + 1}期", starts_at=starts,
                ends_at=starts + 5400, leader_id=rng.choice(eligible), creator_id=FIRST_MEMBER,
                code=f"{rng.randrange(10000):04d}", now=starts - 86400,
            )
            if i % 20 == 7:
                await repo.cancel(session_id, starts - 3600)
                continue
            if starts > now:
                continue
            present = rng.sample(users, rng.randrange(len(users) // 25, len(users) // 8 + 2))
            for user_id in present:
                at = starts - 1800 + rng.randrange(7200)
                checkins.append((session_id, user_id, at, "code", None, None))
                if rng.random() < 0.2:
                    notes.append((session_id, branch_id, user_id,
                                  "学习心得：" + "认真学习了本期导学内容，收获很大。" * 2,
                                  starts + 86400))
        await svc.db.executemany(
            "INSERT INTO checkins (session_id, user_id, at, method, operator_id, reason) "
            "VALUES (?, ?, ?, ?, ?, ?)", checkins)
        await svc.db.executemany(
            "INSERT INTO notes (session_id, branch_id, user_id, content, created_at) "
            "VALUES (?, ?, ?, ?, ?)", notes)
    return len(checkins), len(notes)


async def seed(db_path: Path, args: argparse.Namespace) -> None:
    """Seed through the project's services with a clock frozen ``TERM_DAYS`` days ago, so the
    branch's term started before every seeded record."""
    rng = random.Random(SEED)
    real_now = datetime.now().astimezone()
    clock = FrozenClock(real_now - timedelta(days=TERM_DAYS, hours=1))
    svc = await open_services(BranchConfig(), clock=clock, db_path=str(db_path))
    t0 = time.perf_counter()
    branch = await svc.branches.branch_for_group(GROUP)
    term = await svc.branches.current_term(branch.id)
    start, now = term.started_at, int(real_now.timestamp())
    members = await seed_members(svc, branch.id, args.members, rng, start)
    t1 = time.perf_counter()
    print(f"  {args.members} members ({len(members)} active) in {t1 - t0:.1f} s")

    users = [u for u, _ in members]
    done = 0
    for rows in ledger_chunks(svc, branch.id, term.id, users, args.entries, start + 3600, now,
                              rng):
        async with svc.db.transaction():
            await svc.db.executemany(INSERT_SQL, rows)
        done += len(rows)
    t2 = time.perf_counter()
    agg = await svc.db.fetchval("SELECT COUNT(*) FROM points_agg")
    print(f"  {done} ledger entries ({agg} points_agg rows by the trigger) in {t2 - t1:.1f} s "
          f"({done / (t2 - t1):.0f}/s)")

    await seed_wishes(svc, branch.id, members, args.wishes, start, now, rng)
    t3 = time.perf_counter()
    print(f"  {args.wishes} wishes in {t3 - t2:.1f} s")
    checkins, notes = await seed_sessions(svc, branch.id, members, args.sessions, start, now,
                                          rng)
    t4 = time.perf_counter()
    print(f"  {args.sessions} sessions, {checkins} check-ins, {notes} notes in {t4 - t3:.1f} s")
    await svc.db.close()


async def already_seeded(db_path: Path) -> bool:
    if not db_path.exists():
        return False
    svc = await open_services(BranchConfig(), db_path=str(db_path))
    try:
        return bool(await svc.db.fetchval(
            "SELECT COUNT(*) FROM ledger l JOIN branch_groups g ON g.branch_id = l.branch_id "
            "WHERE g.group_id = ?", (GROUP,), default=0))
    finally:
        await svc.db.close()


# measuring -------------------------------------------------------------------------------------


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


async def timed(call: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    await call()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        await call()
        times.append((time.perf_counter() - t) * 1000)
    return times


async def profile(call: Callable[[], Awaitable[object]]) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    await call()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    return out.getvalue()


async def measure(db_path: Path, args: argparse.Namespace) -> bool:
    svc = await open_services(BranchConfig(), db_path=str(db_path))  # the real clock
    try:
        branch = await svc.branches.branch_for_group(GROUP)
        bid = branch.id
        term = await svc.branches.current_term(bid)
        # the asker: the member ranked in the middle of the term board
        totals = await svc.points.ledger.period_totals(bid, f"term:{term.id}")
        ordered = sorted(totals, key=lambda u: (-totals[u], u))
        asker = ordered[len(ordered) // 2]
        admin = Actor(1, is_superuser=True)

        ops: list[tuple[str, Callable[[], Awaitable[object]], float]] = [
            (f"/积分榜 {w}", lambda w=w: svc.points.board(bid, w, asker), BOARD_TARGET_MS)
            for w in ("周", "月", "学期", "总")
        ]
        ops.append(("/积分", lambda: svc.points.summary(bid, asker), BOARD_TARGET_MS))
        ops.append(("/统计", lambda: svc.reports.build(bid, admin), REPORT_TARGET_MS))

        print(f"\nservice time, {args.repeat} runs each after one warm-up (asker {asker}):")
        print(f"  {'command':<14}{'median':>10}{'p90':>10}{'min':>10}{'target':>10}  result")
        missed = []
        for label, call, target in ops:
            times = await timed(call, args.repeat)
            median = statistics.median(times)
            ok = median < target
            if not ok:
                missed.append((label, call))
            pad = 14 - sum(2 if ord(ch) > 0x2E80 else 1 for ch in label)
            print(f"  {label}{' ' * pad}{median:>7.1f} ms{p90(times):>7.1f} ms"
                  f"{min(times):>7.1f} ms{target:>7.0f} ms  {'PASS' if ok else 'MISS'}")

        board = await svc.points.board(bid, "周", asker)
        summary = await svc.points.summary(bid, asker)
        report = await svc.reports.build(bid, admin)
        mine = "unranked" if board.mine is None else f"#{board.mine[0]} with {board.mine[1]}"
        print(f"\nwhat the calls returned: 本周 board {board.ranked} ranked, asker {mine}; "
              f"/积分 total {summary.total} rank {summary.rank}/{summary.ranked}; /统计 "
              f"{report.members} members, {report.eligible} eligible, "
              f"{report.reaching_standard} reaching the standard, {len(report.floors)} floors, "
              f"wishes {report.wishes_posted}/{report.wishes_claimed}/{report.wishes_completed}"
              f" (posted/claimed/completed), {report.sessions_held} sessions held, average "
              f"attendance {report.average_attendance or 0:.1%}, {report.notes} notes")

        if args.profile:
            for label, call in missed:
                print(f"\ncProfile of one {label} call (main thread; SQLite runs in "
                      f"aiosqlite's thread):")
                print(await profile(call))
        return not missed
    finally:
        await svc.db.close()


async def run(db_path: Path, args: argparse.Namespace) -> bool:
    seeded = not await already_seeded(db_path)
    if not seeded:
        print(f"reusing the seeded database {db_path}")
    else:
        print(f"seeding {db_path}:")
        t = time.perf_counter()
        await seed(db_path, args)
        print(f"seeded in {time.perf_counter() - t:.1f} s")
    peak, current = rss_mb()
    when = "after seeding" if seeded else "before measuring"
    print(f"memory {when}: peak RSS {peak:.0f} MB, current RSS {current:.0f} MB; "
          f"database {db_size_mb(db_path)}")
    ok = await measure(db_path, args)
    peak, current = rss_mb()
    print(f"\nmemory after measuring: peak RSS {peak:.0f} MB, current RSS {current:.0f} MB; "
          f"database {db_size_mb(db_path)}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--wishes", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=80)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db", type=Path, help="database file (seeded unless it already is)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile one call of every measurement that misses its target")
    args = parser.parse_args()
    if args.db is not None:
        ok = asyncio.run(run(args.db, args))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            ok = asyncio.run(run(Path(tmp) / "points_scale.db", args))
    print("all targets met" if ok else "some targets missed")


if __name__ == "__main__":
    main()
