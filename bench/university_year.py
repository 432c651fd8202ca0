"""A whole university for a year on one bot: 300 branches, measured against the targets.

Run by hand from the repository folder (README, "How far one bot goes"):

    python bench/university_year.py [--rebuild] [--small] [--commands 10000]

It builds the school with the generator of ``bench/school.py`` — 300 branches, 60,000 profiles,
a year of activities, check-ins, notes, wishes, problems, polls, surveys, tasks and ledger
entries, lived through the domain services on a clock it moves — or reuses the one cached in
``bench/.cache/`` under the same parameters (the year ends on the first Monday of next month at
08:55, so a cache lasts until then). Then it measures, on copies of that database:

- ``/统计`` of the biggest and of the median branch, current and past term: what the handler
  does (``ReportService.build`` as the secretary, the figures, the pages), 20 runs after one;
- ``/积分榜`` and ``/我的`` in the biggest branch, asked by 200 members in turn;
- the export of the biggest branch's current term (``tools/export.py`` ``export_term``);
- an online backup (``storage/backup.py``, the copy and its integrity check);
- ``python bot.py`` on a copy, its clock at 08:59 on that Monday: seconds until it listens
  with every branch's reminders and jobs armed, its RSS, then the Monday-morning fan-out (the
  weekly lists of every branch at 09:00) while members of the median branch send ``/签到``
  to its 09:00 activity, then 10,000 mixed commands over the OneBot WebSocket and its RSS;
- a migration from the previous schema version on a copy (the last migration's objects
  taken out again, then ``Database.open``);

and prints one table, each figure beside its target. ``--small`` builds a tenth of the school
(a quick check of the script, not of the targets).

Figures (2026-12-05, this container: 2 CPUs, load 0.5–1.0; Python 3.11, SQLite 3.40, WAL).
The school: 300 branches, 68,998 profiles (the biggest branch 3,053, the median 155), ledger
3,154,951, check-ins 1,512,169, wishes 102,692, problems 52,416, notes 132,953, 27,999
sessions; the year's bot sent 452,260 group and 888,169 private messages, at most 740 group
messages in one hour. Database 954 MB.

    figure                                   before           after            target
    build of the school                      18.6 min         18.1 min         < 15 min MISSED
    /统计 biggest, current term p95          561 ms           192 ms           < 200 ms
    /统计 biggest, past term p95             402 ms           127 ms           < 200 ms
    /统计 median, current / past p95         41 / 21 ms       17 / 10 ms       < 200 ms
    /积分榜 (学期, 周, 总) p95               3.4 ms at most   2.7 ms at most   < 20 ms
    /我的 p95                                0.6 ms           0.6 ms           < 20 ms
    export of the biggest branch's term      80.2 s, 29 MB    22.1 s, 9.1 MB   < 10 s MISSED
    start-up (a restart, everything armed)   5.9 s            0.8 s            < 5 s
    first start on a copied file             -                5.7 s            (quick_check)
    RSS after start-up / 10,000 commands     76 / 85 MB       72 / 81 MB       < 300 MB
    /签到 in another branch at 09:00 Monday  max 34 ms        max 194 ms       < 1 s
    online backup (copy + integrity check)   27.5 s           27.1 s
    10,000 mixed commands over WebSocket     496/s            546/s

What the profiles showed and what changed:

- ``/统计`` (cProfile, and each SQL statement timed): half the time was SQLite, half Python.
  The wish counts and first claims read every wish of the branch and each wish's events from
  the table (no index on when a wish was posted): migration 0017 adds covering indexes (64 →
  7 ms, 78 → 21 ms). Attendance fetched all 48,000 (session, person) check-in pairs to count
  them in Python; now the database counts them per session, walking each session's check-ins
  and testing the person against the eligible list (``+user_id IN (...)``; letting SQLite seek
  each pair instead took 180 ms). The 81 other activities were read one query each and a
  roster of 3,000 states built for each; now two queries and a set intersection per activity.
  The report's independent parts are awaited together, so one part's Python overlaps another's
  query in the database thread.
- The export wrote 1,005,019 rows, 781,097 of them in 缺勤 (every absent person of every
  session: sessions × eligible people, near Excel's limit of 1,048,576 rows); 缺勤 is now one
  row per person (sessions missed and their numbers). Measuring every cell's display width
  cost 18 s; widths now come from the first 2,000 rows. The workbook is write-only (rows
  stream to disk) and is built in a worker thread, so the bot's event loop keeps turning
  (sharing the CPU) instead of stopping for 20 s. What is left is openpyxl itself: about
  10 µs for each of 1.8 million cells (105,000 ledger rows of ten columns are most of them);
  lxml would save a tenth.
- Start-up: 4 s of the 5.9 were ``PRAGMA quick_check`` reading the whole file. A clean stop
  now notes the file's size and time beside it; a start that finds the file exactly so skips
  the check (``storage/backup.py`` ``left_cleanly``); a kill, a copy or a restore leaves no
  note, so that start checks.
- The build: 60% of it is SQLite executing the services' own statements (the ledger's
  aggregates, the data-version triggers, check-ins), the rest the services' Python. Turning
  off syncs and zeroing of freed pages changed nothing measurable; it is cached, so a build
  is paid once per parameters and schema.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import math
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.memory_growth import rss_mb  # noqa: E402
from bench.school import (  # noqa: E402
    PROBE_TOPIC,
    TZ,
    Journal,
    Shape,
    anchor_for,
    build_school,
)
from config import BranchConfig  # noqa: E402
from domain.branches import Actor  # noqa: E402
from domain.clock import FrozenClock  # noqa: E402
from domain.services import Services, open_services  # noqa: E402
from domain.text import paginate  # noqa: E402
from storage.backup import backup_database  # noqa: E402
from storage.database import Database, available_migrations  # noqa: E402
from tools.export import export_term  # noqa: E402
from tools.onebot import TOKEN, BotProcess, OneBotClient, message_text  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
REPORT_RUNS = 20
ASKERS = 200
TARGETS = {"report": 200.0, "board": 20.0, "me": 20.0, "export": 10.0, "startup": 5.0,
           "rss": 300.0, "checkin": 1.0}
# the mixed commands of the RSS run: (text, weight); replies come as one message each
MIX = (("/我的", 30), ("/积分榜", 15), ("/积分", 15), ("/心愿", 10), ("/导学", 5),
       ("/活动", 5), ("/民情", 5), ("/积分榜 周", 5), ("/支部 信息", 5), ("/帮助", 5))


# the table -------------------------------------------------------------------------------------


class Table:
    """One table: what was measured, the figure, its target and whether it is met."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, what: str, figure: str, target: str = "", met: bool | None = None) -> None:
        verdict = "" if met is None else ("met" if met else "MISSED")
        self.rows.append((what, figure, target, verdict))

    def text(self) -> str:
        def width(text: str) -> int:
            return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)

        cols = [max(width(r[i]) for r in self.rows) for i in range(4)]
        lines = []
        for row in [("measured", "figure", "target", ""), *self.rows]:
            cells = [cell + " " * (cols[i] - width(cell)) for i, cell in enumerate(row)]
            lines.append("  ".join(cells).rstrip())
            if row[0] == "measured":
                lines.append("-" * (sum(cols) + 6))
        return "\n".join(lines)


def p50_p95(values: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return statistics.median(ordered), ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def ms(values: list[float], target: float) -> tuple[str, bool]:
    p50, p95 = p50_p95(values)
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms", p95 < target


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


def mb(path: Path) -> float:
    return sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal")
               if Path(f"{path}{s}").exists()) / 2**20


def copy_db(source: Path, dest: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dest}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, dest)
    return dest


# building or reusing the school --------------------------------------------------------------


def cache_path(shape: Shape, anchor: datetime) -> Path:
    key = f"{shape.key()};anchor={anchor.isoformat()};schema={len(available_migrations())}"
    return CACHE / f"university-{hashlib.sha1(key.encode()).hexdigest()[:12]}.db"


async def school_for(shape: Shape, anchor: datetime, rebuild: bool) -> tuple[Path, dict]:
    """The built school's database (cached), and what its build recorded."""
    path = cache_path(shape, anchor)
    facts_path = path.with_suffix(".json")
    if path.exists() and facts_path.exists() and not rebuild:
        facts = json.loads(facts_path.read_text())
        print(f"reusing {path.relative_to(ROOT)} (built {facts['built_at']})")
        return path, facts
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    print(f"building the school into {path.relative_to(ROOT)} (about 15 minutes) …")
    journal = Journal()
    started, cpu = time.perf_counter(), time.process_time()
    school = await build_school(shape, anchor, str(partial), journal,
                                progress=lambda line: print("  " + line, flush=True))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    with sqlite3.connect(partial) as conn:  # fold the WAL in: one file to copy
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.replace(partial, path)
    facts = {"built_at": datetime.now().isoformat(timespec="seconds"), "seconds": seconds,
             "cpu": cpu, "load": os.getloadavg()[0], "counts": dict(journal.counts),
             "per_action": {k: round(v, 2) for k, v in school.timings.most_common()},
             "calls": dict(school.calls), "sent": dict(school.sent),
             "busiest_group_hour": max(school.group_sent_per_hour.values(), default=0),
             "busiest_group_day": max(day_totals(school.group_sent_per_hour).values(),
                                      default=0)}
    facts_path.write_text(json.dumps(facts, ensure_ascii=False, indent=1))
    return path, {**facts, "fresh": True}


def day_totals(per_hour: dict[int, int]) -> dict[int, int]:
    """Hourly counts summed per day (in the bot's timezone, UTC+8)."""
    days: dict[int, int] = {}
    for hour, count in per_hour.items():
        days[(hour + 8) // 24] = days.get((hour + 8) // 24, 0) + count
    return days


def row_counts(path: Path) -> dict[str, int]:
    """Rows of the tables the issue sizes (read-only counts)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("branches", "members", "ledger", "checkins", "wishes", "problems",
                          "notes", "sessions", "polls", "surveys", "tasks", "outbox")}


# in-process measurements -----------------------------------------------------------------------


async def chosen_branches(svc: Services) -> tuple[int, int]:
    """The biggest and the median branch by active profiles."""
    sizes = []
    for branch_id in await svc.branches.all_branch_ids():
        sizes.append(((await svc.branches.branches.counts(branch_id))["members"], branch_id))
    sizes.sort()
    return sizes[-1][1], sizes[len(sizes) // 2][1]


async def secretary(svc: Services, branch_id: int) -> Actor:
    members = await svc.branches.members.list_active(branch_id)
    return Actor(next(m.user_id for m in members if m.is_secretary), group_id=None)


async def measure_in_process(db: Path, anchor: datetime, table: Table, work: Path) -> dict:
    svc = await open_services(BranchConfig(), FrozenClock(anchor), str(db))
    try:
        big, median = await chosen_branches(svc)
        found = {"big": big, "median": median}
        for label, branch_id in (("biggest", big), ("median", median)):
            admin = await secretary(svc, branch_id)
            members = await svc.branches.branches.counts(branch_id)
            terms = await svc.branches.terms(branch_id)
            for word in (None, terms[-2].name):

                async def report(branch_id=branch_id, admin=admin, word=word) -> None:
                    built = await svc.reports.build(branch_id, admin, word, 1000)
                    lines = ["📊 支部工作报告"]  # as plugins/report show_report
                    lines += [f"{k}：{v}" for k, v in built.figures()]
                    paginate(lines, svc.settings.reply_max_chars)

                await report()
                times = [await timed(report) for _ in range(REPORT_RUNS)]
                figure, met = ms(times, TARGETS["report"])
                which = "current" if word is None else "past"
                table.add(f"/统计 {label} branch ({members['members']} profiles), "
                          f"{which} term", figure, "p95 < 200 ms", met)
        people = [m.user_id for m in await svc.branches.members.list_active(big)]
        askers = random.Random(26).sample(people, min(ASKERS, len(people)))
        for word in ("学期", "周", "总"):

            async def board(uid: int, word=word) -> None:  # as plugins/points show_board
                shown = await svc.points.board(big, word, uid)
                lines = [f"🏆 {shown.label}积分榜（{shown.ranked} 人上榜）"]
                lines += [f"{r}. {shown.names.get(u, str(u))} {t} 分" for r, u, t in shown.rows]

            await board(askers[0])
            times = [await timed(lambda u=u: board(u)) for u in askers]
            figure, met = ms(times, TARGETS["board"])
            table.add(f"/积分榜 {word} (biggest branch, {len(askers)} askers)", figure,
                      "p95 < 20 ms", met)

        async def me(uid: int) -> None:  # the calls of plugins/members show_me
            seen = await svc.overview.of_member(big, uid)
            if seen.partner is not None:
                await svc.branches.names(big, [seen.partner[0]])

        await me(askers[0])
        figure, met = ms([await timed(lambda u=u: me(u)) for u in askers], TARGETS["me"])
        table.add(f"/我的 (biggest branch, {len(askers)} askers)", figure, "p95 < 20 ms", met)

        out = work / "export.xlsx"
        started = time.perf_counter()
        await export_term(svc, big, None, out, 1000)
        seconds = time.perf_counter() - started
        table.add("export of the biggest branch's term", f"{seconds:.1f} s, "
                  f"{out.stat().st_size / 2**20:.1f} MB", "< 10 s", seconds < TARGETS["export"])
        probe = None
        for session in await svc.sessions.pending_sessions():
            if session.topic == PROBE_TOPIC:
                probe = session
        found["probe"] = probe
        found["groups"] = await branch_people(svc)
        return found
    finally:
        await svc.db.close()


async def branch_people(svc: Services) -> dict[int, tuple[list[int], list[int]]]:
    """Per branch: its groups and its active members (who send the mixed commands)."""
    found = {}
    for branch_id in await svc.branches.all_branch_ids():
        found[branch_id] = (await svc.branches.groups(branch_id),
                            [m.user_id for m in await svc.branches.members.list_active(branch_id)])
    return found


def measure_backup(db: Path, work: Path, table: Table) -> None:
    dest = work / "backup.db"
    started = time.perf_counter()
    size = backup_database(db, dest)
    seconds = time.perf_counter() - started
    table.add("online backup (copy and integrity check)",
              f"{seconds:.1f} s for {size / 2**20:.0f} MB", "(information)")
    dest.unlink()


async def measure_migration(db: Path, work: Path, table: Table) -> None:
    """The last migration again, on a copy taken back to the schema before it: the objects it
    created dropped (indexes and triggers first), the columns it added dropped."""
    copy = copy_db(db, work / "migrate.db")
    number, script = available_migrations()[-1]
    previous = await schema_without_last(work)
    order = {"trigger": 0, "index": 1, "view": 2, "table": 3}
    with sqlite3.connect(copy) as conn:
        now = schema_of(conn)
        added = sorted((kind, name) for name, (kind, _) in now.items() if name not in previous)
        for kind, name in sorted(added, key=lambda a: order[a[0]]):
            conn.execute(f'DROP {kind.upper()} IF EXISTS "{name}"')
        columns = [(name, column) for name, (kind, cols) in now.items()
                   if kind == "table" and name in previous
                   for column in cols if column not in previous[name][1]]
        for name, column in columns:
            conn.execute(f'ALTER TABLE "{name}" DROP COLUMN "{column}"')
        conn.execute(f"PRAGMA user_version = {number - 1}")
    db_ = Database(copy)
    started = time.perf_counter()
    await db_.open()
    seconds = time.perf_counter() - started
    await db_.close()
    table.add(f"migration {number - 1} → {number} ({script.name})",
              f"{seconds:.2f} s ({len(added)} objects, {len(columns)} columns)",
              "(information)")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)


def schema_of(conn: sqlite3.Connection) -> dict[str, tuple[str, list[str]]]:
    """Every named object: its kind and, for a table, its columns."""
    found = {}
    for name, kind in conn.execute(
            "SELECT name, type FROM sqlite_master WHERE sql IS NOT NULL").fetchall():
        columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')] \
            if kind == "table" else []
        found[name] = (kind, columns)
    return found


async def schema_without_last(work: Path) -> dict[str, tuple[str, list[str]]]:
    """The schema one migration before the last, read from an empty database."""
    import storage.database as database

    path = work / "previous.db"
    everything = database.available_migrations
    database.available_migrations = lambda: everything()[:-1]
    try:
        empty = Database(path)
        await empty.open()
        await empty.close()
    finally:
        database.available_migrations = everything
    with sqlite3.connect(path) as conn:
        found = schema_of(conn)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return found


# the real bot ------------------------------------------------------------------------------------


class Replies:
    """Reads the bot's calls: a command's reply (``send_msg`` to its group) resolves the
    future waiting for that group; queued messages (``send_group_msg``) are counted."""

    def __init__(self, qq: OneBotClient) -> None:
        self.qq = qq
        self.waiting: dict[int, asyncio.Future] = {}
        self.queued = 0
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            call = await self.qq.calls.get()
            action, params = call.get("action"), call.get("params") or {}
            if action == "send_group_msg":
                self.queued += 1
            elif action == "send_msg":
                waiter = self.waiting.pop(int(params.get("group_id") or 0), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(message_text(call))

    async def ask(self, group_id: int, user_id: int, text: str, timeout: float = 30) -> float:
        """Send ``text`` in ``group_id`` as ``user_id``; seconds until its reply."""
        waiter = asyncio.get_running_loop().create_future()
        self.waiting[group_id] = waiter
        started = time.perf_counter()
        await post_group(self.qq, group_id, user_id, text)
        await asyncio.wait_for(waiter, timeout)
        return time.perf_counter() - started


_event_times: dict[int, int] = {}


async def post_group(qq: OneBotClient, group_id: int, user_id: int, text: str) -> None:
    """A group message now (never two from one person in the same second: the bot would take
    the second for a re-delivery of the first)."""
    now = max(int(time.time()), _event_times.get(user_id, 0) + 1)
    _event_times[user_id] = now
    await qq.post({
        "time": now, "self_id": qq.self_id, "post_type": "message", "message_type": "group",
        "sub_type": "normal", "message_id": random.randrange(1, 2**31), "group_id": group_id,
        "user_id": user_id, "anonymous": None,
        "message": [{"type": "text", "data": {"text": text}}], "raw_message": text, "font": 14,
        "sender": {"user_id": user_id, "nickname": f"u{user_id}", "card": "", "role": "member"},
    })


def wait_for_log(proc: BotProcess, needles: list[str], deadline: float) -> dict[str, float]:
    """Wall-clock moments at which each needle first appears in the bot's log."""
    seen: dict[str, float] = {}
    while len(seen) < len(needles) and time.time() < deadline:
        log = proc.log()
        for needle in needles:
            if needle not in seen and needle in log:
                seen[needle] = time.time()
        time.sleep(0.02)
    return seen


async def measure_bot(db: Path, work: Path, anchor: datetime, found: dict, commands: int,
                      table: Table) -> None:
    copy = copy_db(db, work / "bot.db")
    start_at = anchor.replace(hour=8, minute=58, second=0)
    nine = anchor.replace(hour=9, minute=0, second=0)
    offset = start_at.timestamp() - time.time()
    proc = BotProcess(copy, work / "bot.log", CLOCK_OFFSET_SECONDS=f"{offset:.3f}",
                      LOG_LEVEL="INFO", BACKUP_DIR=str(work / "backups"))
    started = time.perf_counter()
    proc.start(timeout=300)
    first = time.perf_counter() - started
    proc.stop()  # a clean stop: the restart may skip quick_check (runtime/lifecycle.py)
    started = time.perf_counter()
    proc.start(timeout=300)
    startup = time.perf_counter() - started
    fire_wall = nine.timestamp() - offset  # when the bot's clock shows 09:00
    try:
        log = proc.log()
        armed = [line.split("| ", 1)[-1].strip() for line in log.splitlines()
                 if "armed" in line][-5:]  # the restart's
        table.add("first start of bot.py on a copied file (quick_check of the whole file)",
                  f"{first:.1f} s", "(information)")
        table.add("start-up of bot.py to listening, everything armed (a restart)",
                  f"{startup:.1f} s", "< 5 s", startup < TARGETS["startup"])
        table.add("  armed at start-up", ", ".join(a.split(";")[0] for a in armed) or "?")
        rss = rss_mb(proc.proc.pid)
        table.add("RSS after start-up", f"{rss:.0f} MB", "< 300 MB", rss < TARGETS["rss"])
        async with OneBotClient(proc.port, TOKEN) as qq:
            qq.results["get_group_info"] = {"member_count": 500}
            qq.results["get_group_member_info"] = {"role": "member"}
            replies = Replies(qq)
            await fan_out(proc, replies, found, fire_wall, table)
            await mixed_commands(replies, found, commands, table)
            rss = rss_mb(proc.proc.pid)
            table.add(f"RSS after {commands:,} mixed commands", f"{rss:.0f} MB", "< 300 MB",
                      rss < TARGETS["rss"])
            replies.task.cancel()
    finally:
        proc.stop()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)


async def fan_out(proc: BotProcess, replies: Replies, found: dict, fire_wall: float,
                  table: Table) -> None:
    """09:00 on Monday: the weekly problem and task lists of every branch are queued at once;
    meanwhile members of the median branch check in to its 09:00 activity."""
    probe = found["probe"]
    groups, people = found["groups"][probe.branch_id]
    lines = ("weekly problem list:", "weekly task list:")
    await asyncio.sleep(max(0.0, fire_wall - time.time() - 2))
    latencies: list[float] = []
    deadline = fire_wall + 60
    seen: dict[str, float] = {}
    turn = 0
    while time.time() < deadline and len(seen) < len(lines):
        latencies.append(await replies.ask(groups[0], people[turn % len(people)], "/签到"))
        turn += 1
        log = proc.log()
        for needle in lines:
            if needle not in seen and needle in log:
                seen[needle] = time.time()
        await asyncio.sleep(0.05)
    for _ in range(10):  # and just after
        latencies.append(await replies.ask(groups[0], people[turn % len(people)], "/签到"))
        turn += 1
    if len(seen) == len(lines):
        last = max(seen.values()) - fire_wall
        queued = sum(int(line.split(needle, 1)[1].split()[0]) for line in proc.log().splitlines()
                     for needle in lines if needle in line)
        table.add("Monday 09:00 fan-out: weekly lists of every branch queued",
                  f"{queued} messages, the last {last:.1f} s after 09:00", "(information)")
    else:
        table.add("Monday 09:00 fan-out", "the weekly jobs did not log within a minute", "",
                  False)
    worst = max(latencies)
    table.add(f"/签到 in another branch meanwhile ({len(latencies)} sent)",
              f"p50 {statistics.median(latencies) * 1000:.0f} ms, max {worst * 1000:.0f} ms",
              "< 1 s", worst < TARGETS["checkin"])


async def mixed_commands(replies: Replies, found: dict, commands: int, table: Table) -> None:
    """``commands`` commands from members of every branch, one waiting per group in up to 32
    groups at a time (each worker owns its groups, so a group's next command follows its
    previous reply)."""
    rng = random.Random(10_000)
    texts = [t for t, w in MIX for _ in range(w)]
    by_group = [(groups[0], people[:200]) for groups, people in found["groups"].values()
                if groups and people]
    rng.shuffle(by_group)
    workers = min(32, len(by_group))
    owned = [by_group[i::workers] for i in range(workers)]
    latencies: list[float] = []

    async def worker(mine: list[tuple[int, list[int]]], count: int) -> None:
        for n in range(count):
            group, people = mine[n % len(mine)]
            latencies.append(await replies.ask(group, rng.choice(people), rng.choice(texts)))

    started = time.perf_counter()
    shares = [commands // workers + (i < commands % workers) for i in range(workers)]
    await asyncio.gather(*(worker(mine, count) for mine, count in zip(owned, shares, strict=True)))
    seconds = time.perf_counter() - started
    p50, p95 = p50_p95(latencies)
    table.add(f"{commands:,} mixed commands over the WebSocket ({workers} groups at a time)",
              f"{commands / seconds:.0f}/s; reply p50 {p50 * 1000:.0f} ms, "
              f"p95 {p95 * 1000:.0f} ms", "(information)")


# the run ---------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    shape = Shape()
    if args.small:
        shape = dataclasses.replace(shape, branches=30, profiles=6_000, wishes=10_400,
                                    problems=5_300)
    anchor = anchor_for(datetime.now(TZ)) if args.anchor is None else \
        datetime.fromisoformat(args.anchor).replace(tzinfo=TZ)
    db, facts = await school_for(shape, anchor, args.rebuild)
    if facts.get("fresh"):
        # measure in a new process: the build leaves this one with a heap of half a gigabyte
        # that every later garbage collection walks (it put 20% on /统计)
        print("measuring in a fresh process …", flush=True)
        argv = [a for a in sys.argv if a != "--rebuild"]
        os.execv(sys.executable, [sys.executable, *argv, "--anchor",
                                  anchor.strftime("%Y-%m-%dT%H:%M")])
    counts = row_counts(db)
    table = Table()
    seconds = facts["seconds"]
    table.add("build of the school (bench/school.py)",
              f"{seconds / 60:.1f} min ({facts['cpu'] / 60:.1f} min CPU, load "
              f"{facts['load']:.1f}, {facts['built_at'][:10]})", "< 15 min", seconds < 900)
    table.add("  rows", ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    table.add("database size", f"{mb(db):.0f} MB", "(information)")
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        work = Path(tmp)
        copy = copy_db(db, work / "measure.db")
        found = await measure_in_process(copy, anchor, table, work)
        measure_backup(copy, work, table)
        await measure_migration(db, work, table)
        if found["probe"] is None:
            table.add("bot run", "no 09:00 activity in the median branch: rebuild", "", False)
        else:
            await measure_bot(db, work, anchor, found, args.commands, table)
    print()
    print(f"University year: {shape.branches} branches, {counts['members']:,} profiles, the "
          f"year ending {anchor:%Y-%m-%d %H:%M}; load {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")
    print(table.text())
    missed = [r for r in table.rows if r[3] == "MISSED"]
    return 1 if missed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="build even if cached")
    parser.add_argument("--small", action="store_true", help="a tenth of the school")
    parser.add_argument("--commands", type=int, default=10_000)
    parser.add_argument("--anchor", help="the year's end, e.g. 2027-01-04T08:55 (a Monday)")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
