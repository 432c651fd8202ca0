"""The one aiosqlite connection, the transaction helper and the migration runner."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")
# Event-loop turns run_atomic waits to gather a batch: costs microseconds when idle, and under
# a burst turns many database thread hand-offs (about a millisecond each) into one.
BATCH_GATHER_TURNS = 3
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

log = logging.getLogger("zhibu.database")

# Which Database (by id) the current task holds a transaction on; lets nested
# `transaction()` calls in the same task join the outer one instead of deadlocking.
_in_transaction: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "_in_transaction", default=frozenset()
)
# Work to run once the outermost transaction of this task has committed (``after_commit``).
_after_commit: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "_after_commit", default=None
)

_INSERT_EVENT = "INSERT INTO seen_events (key, at) VALUES (?, ?)"


class DuplicateEvent(Exception):
    """The event being acted on was acted on before (its key is in ``seen_events``)."""


@dataclass(eq=False)
class EventKey:
    """The key of the incoming event a command acts on, written once with its first write.

    ``state``: "pending" (not in the database yet), "claimed" (a write carrying it is in
    flight) or "stored" (committed with the command's first write, or on its own).
    """

    key: bytes
    at: int
    state: str = field(default="pending")


# The event the current task is acting on (set by the command router around one command).
_acting_on: contextvars.ContextVar[EventKey | None] = contextvars.ContextVar(
    "_acting_on", default=None
)


@contextmanager
def acting_on(event: EventKey | None) -> Iterator[EventKey | None]:
    """Within this block, the first write of this task (``transaction()`` or ``run_atomic``)
    also records ``event`` as acted on, in the same transaction."""
    token = _acting_on.set(event)
    try:
        yield event
    finally:
        _acting_on.reset(token)


@contextmanager
def not_acting_on_an_event() -> Iterator[None]:
    """Writes in this block do not carry the current event's key (e.g. a batch of anonymous
    ballots committed during one voter's command must not be tied to that voter)."""
    token = _acting_on.set(None)
    try:
        yield
    finally:
        _acting_on.reset(token)


def _claim_event() -> EventKey | None:
    event = _acting_on.get()
    if event is None or event.state != "pending":
        return None
    event.state = "claimed"
    return event


class Database:
    """One SQLite connection shared by the whole process.

    aiosqlite serialises statements but not transactions, so every write goes through
    ``transaction()``, which holds an asyncio lock for the whole BEGIN…COMMIT.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._batch: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def open(self) -> None:
        """Open the connection, set pragmas and apply pending migrations."""
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._conn.row_factory = aiosqlite.Row
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute("PRAGMA foreign_keys=ON")
        await self._conn.execute("PRAGMA busy_timeout=5000")
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        # deleted content is overwritten with zeros, not left in free space (anonymous polls)
        await self._conn.execute("PRAGMA secure_delete=ON")
        await self.migrate()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        """``async with db.transaction():`` — BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error.

        Nested calls in the same task join the outer transaction. When the task is acting on
        an incoming event (``acting_on``) whose key is not stored yet, the key is inserted
        right after BEGIN, so the event is recorded as acted on exactly when its effect
        commits; a key already there raises ``DuplicateEvent`` (and nothing is written).
        """
        held = _in_transaction.get()
        if id(self) in held:
            yield self
            return
        callbacks: list = []
        async with self._lock:
            token = _in_transaction.set(held | {id(self)})
            after = _after_commit.set(callbacks)
            event = _claim_event()
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                if event is not None:
                    await self._insert_event(event)
                yield self
            except BaseException:
                await self.conn.execute("ROLLBACK")
                if event is not None:
                    event.state = "pending"
                raise
            else:
                await self.conn.execute("COMMIT")
                if event is not None:
                    event.state = "stored"
            finally:
                _after_commit.reset(after)
                _in_transaction.reset(token)
        await _run_callbacks(callbacks)

    def after_commit(self, callback: Callable[[], Awaitable[Any] | Any],
                     key: object = None) -> None:
        """Run ``callback()`` (a function or a coroutine function) once the current outermost
        transaction has committed; soon when there is none. Nothing runs after a rollback.
        A ``key`` already registered in this transaction is not registered again. Errors are
        logged, never raised into the committed caller."""
        pending = _after_commit.get()
        if pending is None or id(self) not in _in_transaction.get():
            asyncio.get_running_loop().create_task(_run_callbacks([(key, callback)]))
            return
        if key is None or all(k != key for k, _ in pending):
            pending.append((key, callback))

    async def _insert_event(self, event: EventKey) -> None:
        try:
            await self.conn.execute(_INSERT_EVENT, (event.key, event.at))
        except sqlite3.IntegrityError as exc:
            raise DuplicateEvent() from exc

    async def run_atomic(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` in the database thread as one atomic unit.

        For hot paths. Calls that arrive together are run in one trip to the database thread,
        inside one BEGIN…COMMIT, each under its own SAVEPOINT: each call still commits or
        rolls back as a whole (an exception undoes only that call's writes and is raised to
        its caller), and a burst costs one thread hand-off instead of one per call.
        """
        held = _in_transaction.get()
        if id(self) in held:  # inside transaction(): just run it there
            return await self.conn._execute(fn, self.conn._conn)
        event = _claim_event()
        if event is not None:
            fn = _with_event_key(fn, event)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._batch.append((fn, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_batches())
        try:
            result = await future
        except BaseException:
            if event is not None:
                event.state = "pending"
            raise
        if event is not None:
            event.state = "stored"
        return result

    # events acted on (duplicate filter across restarts) ---------------------------------

    async def remember_event(self, event: EventKey) -> bool:
        """Record ``event`` as acted on by a command that wrote nothing (batched with other
        calls). False when it was recorded before."""
        if event.state != "pending":
            return event.state == "stored"
        try:
            with not_acting_on_an_event():
                await self.run_atomic(
                    lambda conn: conn.execute(_INSERT_EVENT, (event.key, event.at)))
        except sqlite3.IntegrityError:
            return False
        event.state = "stored"
        return True

    async def recent_events(self, since: float) -> list[tuple[bytes, int]]:
        """(key, time) of the events acted on at or after ``since``."""
        rows = await self.fetchall("SELECT key, at FROM seen_events WHERE at >= ?", (since,))
        return [(bytes(r[0]), r[1]) for r in rows]

    async def prune_events(self, before: float) -> int:
        """Forget the events acted on before ``before``; returns how many."""
        with not_acting_on_an_event():
            async with self.transaction():
                cur = await self.execute("DELETE FROM seen_events WHERE at < ?", (before,))
        return cur.rowcount

    async def checkpoint_truncate(self) -> bool:
        """Copy the WAL into the database file and truncate it to zero bytes, so the frames of
        earlier commits no longer exist in any file. False when a reader kept it from
        completing (it is tried again at the next call)."""
        async with self._lock:  # never inside another task's open transaction
            row = await self.fetchone("PRAGMA wal_checkpoint(TRUNCATE)")
        return row is not None and row[0] == 0

    async def _flush_batches(self) -> None:
        try:
            while self._batch:
                for _ in range(BATCH_GATHER_TURNS):  # let callers arriving now join the batch
                    await asyncio.sleep(0)
                batch, self._batch = self._batch, []
                async with self._lock:
                    # aiosqlite has no public "run this in your thread"; all its methods go
                    # through _execute (version range pinned in pyproject.toml).
                    outcomes = await self.conn._execute(_run_batch, self.conn._conn,
                                                        [fn for fn, _ in batch])
                for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        except BaseException as exc:  # the batch itself failed (e.g. COMMIT): tell everyone
            for _, future in self._batch:
                if not future.done():
                    future.set_exception(exc)
            self._batch = []
            if not isinstance(exc, Exception):
                raise
        finally:
            self._flusher = None

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Cursor:
        """Run one statement; writes must be inside ``transaction()``."""
        return await self.conn.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def fetchval(self, sql: str, params: Sequence[Any] = (), default: Any = None) -> Any:
        row = await self.fetchone(sql, params)
        return default if row is None or row[0] is None else row[0]

    async def user_version(self) -> int:
        return int(await self.fetchval("PRAGMA user_version", default=0))

    async def migrate(self) -> int:
        """Apply numbered migrations above ``PRAGMA user_version``; return the new version."""
        current = await self.user_version()
        for number, path in available_migrations():
            if number <= current:
                continue
            script = path.read_text(encoding="utf-8")
            # executescript commits on its own; the version bump is part of the script so a
            # crash leaves either the old or the new schema, never half of one.
            await self.conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;"
            )
            current = number
        return current


def _with_event_key(fn: Callable[[sqlite3.Connection], T], event: EventKey
                    ) -> Callable[[sqlite3.Connection], T]:
    """``fn`` that first records the event it acts on (under the same savepoint)."""

    def run(conn: sqlite3.Connection) -> T:
        try:
            conn.execute(_INSERT_EVENT, (event.key, event.at))
        except sqlite3.IntegrityError as exc:
            raise DuplicateEvent() from exc
        return fn(conn)

    return run


async def _run_callbacks(callbacks: list[tuple[object, Callable]]) -> None:
    for _, callback in callbacks:
        try:
            result = callback()
            if asyncio.iscoroutine(result):
                await result
        except Exception:
            log.exception("after-commit work failed")


def _run_batch(conn: sqlite3.Connection, fns: list[Callable[[sqlite3.Connection], Any]]
               ) -> list[tuple[bool, Any]]:
    """In the database thread: every ``fn`` under its own savepoint, all in one transaction."""
    outcomes: list[tuple[bool, Any]] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for fn in fns:
            conn.execute("SAVEPOINT one_call")
            try:
                outcomes.append((True, fn(conn)))
            except Exception as exc:
                conn.execute("ROLLBACK TO one_call")
                outcomes.append((False, exc))
            conn.execute("RELEASE one_call")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return outcomes


def available_migrations() -> list[tuple[int, Path]]:
    """The migration files, in order; names must look like ``0001_name.sql``."""
    found = []
    for path in MIGRATIONS_DIR.glob("*.sql"):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise RuntimeError(f"bad migration file name: {path.name}")
        found.append((int(match.group(1)), path))
    found.sort()
    numbers = [n for n, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, got {numbers}")
    return found
