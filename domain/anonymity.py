"""Anonymous ballots and survey responses wait in memory and are committed in batches.

Someone who copies the database files at any moment — even replaying the write-ahead log
commit by commit — sees who took part as each person takes part (the ``*_waiting`` tables),
but what was chosen only when a batch of at least ``anonymous_batch`` ballots is committed
together, so they can narrow a person's choice down to their batch and no further.

The rule: ballots wait, oldest first; once ``2k`` wait, the oldest ``n − k`` are committed
together (``k`` = ``anonymous_batch``), so ``k`` always stay behind and the batch committed when
the poll or survey closes (all that still wait) has at least ``k`` too — unless the poll or
survey got fewer than ``k`` ballots in all, and then that one batch is all of them, which the
published result shows anyway. What waits in memory is lost if the bot stops before it is
committed (a planned stop first commits what makes a whole batch); the ``*_waiting`` tables say
whose, so they are told to answer again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

from domain.outbox import OutboxService, at_segment, text_segment
from storage.database import Database, not_acting_on_an_event

P = TypeVar("P")
log = logging.getLogger("zhibu.anonymity")

Store = Callable[[int, list[tuple[int, P]]], Awaitable[None]]
People = Callable[[int], Awaitable[set[int]]]
Drop = Callable[[int, list[int]], Awaitable[None]]


class WaitingBallots(Generic[P]):
    """What each person chose (``P``), per poll or survey, until their batch is committed.

    The choices are held in memory only; the database has who waits (``waiting``). ``store``
    writes a batch (inside a transaction), ``drop`` forgets people whose ballot was lost and
    ``tell_lost`` queues their notice (both inside the transaction that forgets them).
    """

    def __init__(self, db: Database, batch: int, *, what: str, waiting: People, store: Store,
                 drop: Drop, tell_lost: Drop) -> None:
        self.db = db
        self.batch = max(1, batch)
        self.what = what  # for the log: "poll", "survey"
        self.lock = asyncio.Lock()  # one batch is committed at a time
        self._stored_waiting = waiting
        self._store = store
        self._drop = drop
        self._tell_lost = tell_lost
        self._waiting: dict[int, dict[int, P]] = {}

    # memory -------------------------------------------------------------------------------

    def add(self, record_id: int, user_id: int, payload: P) -> None:
        self._waiting.setdefault(record_id, {})[user_id] = payload

    def count(self, record_id: int) -> int:
        return len(self._waiting.get(record_id, {}))

    def due(self, record_id: int) -> list[tuple[int, P]]:
        """The oldest ballots to commit now: ``n − k`` of them once ``n ≥ 2k`` wait, else
        none (``k`` always stay behind, for the batch at the close)."""
        waiting = self._waiting.get(record_id, {})
        if len(waiting) < 2 * self.batch:
            return []
        return list(waiting.items())[:len(waiting) - self.batch]

    def all(self, record_id: int) -> list[tuple[int, P]]:
        """Every ballot still waiting (the last batch, at the close)."""
        return list(self._waiting.get(record_id, {}).items())

    def forget(self, record_id: int, user_ids: Iterable[int]) -> None:
        waiting = self._waiting.get(record_id)
        if waiting is None:
            return
        for user_id in user_ids:
            waiting.pop(user_id, None)
        if not waiting:
            del self._waiting[record_id]

    # committing ---------------------------------------------------------------------------

    async def received(self, record_id: int, user_id: int, payload: P) -> None:
        """A ballot whose person is now recorded as waiting: keep its choice; commit the
        oldest ballots if a batch is due."""
        self.add(record_id, user_id, payload)
        if not self.due(record_id):
            return
        async with self.lock:
            due = self.due(record_id)
            if due:
                with not_acting_on_an_event():  # the batch is not the current person's write
                    async with self.db.transaction():
                        await self._commit(record_id, due, final=False)

    async def _commit(self, record_id: int, ballots: list[tuple[int, P]],
                      final: bool) -> list[int]:
        """Inside a transaction: store the ``ballots`` whose people the database has as
        waiting, if at least a batch of them (or ``final``: whatever is left). Memory forgets
        them once the transaction has committed. Returns the people stored."""
        stored = await self._stored_waiting(record_id)
        batch = [(uid, payload) for uid, payload in ballots if uid in stored]
        if not batch or (not final and len(batch) < self.batch):
            return []
        await self._store(record_id, batch)
        people = [uid for uid, _ in batch]
        self.db.after_commit(lambda: self.forget(record_id, people))
        log.info("anonymous %s #%s: a batch of %s committed", self.what, record_id, len(batch))
        return people

    async def commit_rest(self, record_id: int) -> int:
        """At the close, inside its transaction (hold ``lock``): store every ballot still
        waiting, whatever their number; people the database has as waiting whose choice is
        not here (lost in a restart) are forgotten and told. Returns how many were stored."""
        stored = set(await self._commit(record_id, self.all(record_id), final=True))
        lost = sorted(await self._stored_waiting(record_id) - stored)
        if lost:
            await self._drop(record_id, lost)
            await self._tell_lost(record_id, lost)
        return len(stored)

    async def recover(self, waiting: Iterable[tuple[int, int]]) -> int:
        """At start-up: ``waiting`` (record, person) pairs the database holds whose choices
        are not in memory were lost when the bot stopped. Forget them and tell each person
        (one transaction per poll or survey). Returns how many."""
        lost: dict[int, list[int]] = {}
        for record_id, user_id in waiting:
            if record_id not in self._waiting:
                lost.setdefault(record_id, []).append(user_id)
        for record_id, people in lost.items():
            async with self.db.transaction():
                await self._drop(record_id, people)
                await self._tell_lost(record_id, people)
            log.warning("anonymous %s #%s: %s answers waiting for their batch were lost when "
                        "the bot stopped; those people were told", self.what, record_id,
                        len(people))
        return sum(len(p) for p in lost.values())

    async def commit_whole_batches(self) -> int:
        """Before a planned stop: commit what waits wherever it makes at least a batch;
        smaller remainders are lost (and told at the next start). Returns how many."""
        committed = 0
        async with self.lock:
            for record_id in list(self._waiting):
                ballots = self.all(record_id)
                if len(ballots) < self.batch:
                    continue
                with not_acting_on_an_event():
                    async with self.db.transaction():
                        committed += len(await self._commit(record_id, ballots, final=False))
        return committed

    async def erase_history(self) -> bool:
        """After a close: checkpoint the write-ahead log into the database file and truncate
        it, so no file keeps an earlier state (deleted rows are zeroed: ``secure_delete``).
        False (logged) when a reader kept it from completing; the next close tries again."""
        if await self.db.checkpoint_truncate():
            return True
        log.warning("the write-ahead log could not be truncated after an anonymous %s closed "
                    "(a reader held it); the next close tries again", self.what)
        return False


async def tell_lost(outbox: OutboxService, groups: list[int], *, branch_id: int,
                    group_id: int | None, people: list[int], text: str, what: str) -> None:
    """Queue to each of ``people`` the private note that their anonymous ballot or answers
    (``what``: 投票 #N, 问卷 #N) were lost (inside the transaction that forgets them)."""
    via = group_id if group_id in groups else (groups[0] if groups else None)
    for user_id in people:
        await outbox.to_user(
            user_id, [text_segment(text)], "ballot_lost", via_group_id=via, branch_id=branch_id,
            fallback=[text_segment("提醒："), at_segment(user_id),
                      text_segment(f" 你有一条关于{what}的新通知，请加我为好友后私聊查看。")])
