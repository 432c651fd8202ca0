"""Backups of the branch database: where they go, how many are kept, who hears of a failure."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from config import BranchConfig
from domain.clock import Clock
from domain.health import BackupRecord
from domain.outbox import OutboxService, text_segment
from storage.backup import BackupError, backup_database, backup_name, prune_backups

log = logging.getLogger("zhibu.backup")


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    pruned: list[Path] = field(default_factory=list)

    def describe(self) -> str:
        size = f"{self.size / 1024 / 1024:.1f} MB" if self.size >= 1024 * 1024 else \
            f"{max(1, round(self.size / 1024))} KB"
        return f"{self.path.resolve()}（{size}，已通过完整性检查）"


class BackupService:
    """Checked online backups of ``db_path`` into ``backup_dir``, the newest ``backup_keep``
    kept. Only the one bot process is meant to run these concurrently with its own writes."""

    def __init__(self, settings: BranchConfig, clock: Clock, db_path: str | Path,
                 outbox: OutboxService | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.db_path = Path(db_path)
        self.outbox = outbox
        self._lock = asyncio.Lock()
        self.last: BackupRecord | None = None  # the last backup this process took
        self.on_finished: Callable[[BackupRecord], None] | None = None  # metrics

    @property
    def folder(self) -> Path:
        return Path(self.settings.backup_dir)

    async def run(self, to: str | Path | None = None) -> BackupResult:
        """One backup now: to ``to``, or into the backup folder (then old ones are pruned).
        Its time, result and duration are kept in ``last`` (for ``/zhibu/health``)."""
        started = time.monotonic()
        try:
            result = await self._run(to)
        except BaseException:
            self._finished(False, started)
            raise
        self._finished(True, started)
        return result

    def _finished(self, ok: bool, started: float) -> None:
        self.last = BackupRecord(self.clock.timestamp(), ok, time.monotonic() - started)
        if self.on_finished is not None:
            self.on_finished(self.last)

    async def _run(self, to: str | Path | None) -> BackupResult:
        async with self._lock:  # a scheduled and a manual backup never overlap
            if to is not None:
                dest = Path(to)
            else:
                self.folder.mkdir(parents=True, exist_ok=True)
                dest = backup_name(self.clock.now().strftime("%Y%m%d-%H%M%S"), self.folder)
            size = await asyncio.to_thread(backup_database, self.db_path, dest)
            pruned = []
            if to is None:
                pruned = await asyncio.to_thread(prune_backups, self.folder,
                                                 self.settings.backup_keep)
        log.info(f"backup written to {dest} ({size} bytes); {len(pruned)} old ones deleted")
        return BackupResult(dest, size, pruned)

    async def scheduled(self, superusers: list[int]) -> BackupResult | None:
        """The daily backup: a failure is logged and told to each superuser privately (through
        the outgoing queue), never raised."""
        try:
            return await self.run()
        except (BackupError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
        except Exception as exc:  # whatever it is, the bot must keep running
            log.exception("backup failed")
            reason = f"{type(exc).__name__}: {exc}"
        log.error(f"scheduled backup of {self.db_path} failed: {reason}")
        if self.outbox is not None:
            day = self.clock.now().strftime("%Y-%m-%d")
            notice = (f"⚠️ 数据库定时备份失败（{self.clock.now():%m-%d %H:%M}）：{reason}\n"
                      f"备份目录：{self.folder.resolve()}。请检查磁盘空间和目录权限，"
                      "或发送 /支部 备份 重试。")
            for user_id in superusers:
                try:
                    await self.outbox.to_user(user_id, [text_segment(notice)], "backup_failed",
                                              dedupe_key=f"backup_failed:{day}:{user_id}")
                except Exception:
                    log.exception(f"could not queue the backup failure notice to {user_id}")
        return None
