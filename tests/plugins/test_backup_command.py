"""``/支部 备份``: superusers back the database up from QQ and are told where it went."""

from __future__ import annotations

from storage.backup import integrity_of, list_backups
from tests.conftest import SUPERUSER
from tests.fakes import Says, converse, group_message, private_message
from tests.plugins.conftest import SECRETARY


async def test_superusers_back_up_and_hear_where(app, branch, services, tmp_path):
    folder = tmp_path / "backups"
    services.settings.backup_dir = str(folder)
    await converse(
        app,
        (group_message(SECRETARY, "/支部 备份"), Says("只有超级管理员")),
        (group_message(SECRETARY, "/支部 备份", role="owner"), Says("只有超级管理员")),
        # in a group only the file's name; the server's folders are told privately
        (group_message(SUPERUSER, "/支部 备份"),
         Says("已备份", "zhibu-20261127-200000.db", "已通过完整性检查",
              absent=(str(folder.resolve()),))),
        (private_message(SUPERUSER, "/支部 备份"),
         Says("已备份到", str(folder.resolve()), "zhibu-20261127-200000-2.db")),
        (group_message(SUPERUSER, "/支部 备份 现在"), Says("用法：/支部 备份")),
    )
    backups = list_backups(folder)
    assert len(backups) == 2 and all(integrity_of(p) == "ok" for p in backups)


async def test_a_failed_backup_is_answered_not_crashed(app, branch, services, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("x")
    services.settings.backup_dir = str(blocked / "backups")
    await converse(app, (group_message(SUPERUSER, "/支部 备份"), Says("备份失败")))
