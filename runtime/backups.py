"""The running bot's backup service (one per process, so backups never overlap)."""

from __future__ import annotations

from nonebot import get_driver

from domain.backup import BackupService
from domain.services import Services

_service: tuple[Services, BackupService] | None = None


def backup_service(svc: Services) -> BackupService:
    global _service
    if _service is None or _service[0] is not svc:
        _service = (svc, BackupService(svc.settings, svc.clock, svc.db.path, svc.outbox))
    return _service[1]


def superusers() -> list[int]:
    """The bot's SUPERUSERS as QQ numbers (they hear of a failed backup)."""
    return sorted(int(u) for u in get_driver().config.superusers if str(u).isdigit())
