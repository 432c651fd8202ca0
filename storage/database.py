"""The one aiosqlite connection, the transaction helper and the migration runner."""

from __future__ import annotations

import asyncio
import contextvars
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")
# Event-loop turns run_atomic waits to gather a batch: costs microseconds when idle, and under
# a burst turns many database thread hand-offs (about a millisecond each) into one.
BATCH_GATHER_TURNS = 3
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

# Which Database (by id) the current task holds a transaction on; lets nested
# `transaction()` calls in the same task join the outer one instead of deadlocking.
_in_transaction: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "_in_transaction", default=frozenset()
)


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
        await self.migrate()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        """``async with db.transaction():`` — BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error."""
        held = _in_transaction.get()
        if id(self) in held:
            yield self
            return
        async with self._lock:
            token = _in_transaction.set(held | {id(self)})
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")
            finally:
                _in_transaction.reset(token)

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
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._batch.append((fn, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_batches())
        return await future

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
