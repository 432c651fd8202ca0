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
committed; the ``*_waiting`` tables say whose, so they are told to answer again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Generic, TypeVar

P = TypeVar("P")


class WaitingBallots(Generic[P]):
    """What each person chose (``P``), per poll or survey, until their batch is committed.

    Held in memory only. ``lock`` serialises the commits of batches (each read the waiting
    people from the database inside their own transaction).
    """

    def __init__(self, batch: int) -> None:
        self.batch = max(1, batch)
        self.lock = asyncio.Lock()
        self._waiting: dict[int, dict[int, P]] = {}

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

    def records(self) -> list[int]:
        return list(self._waiting)
