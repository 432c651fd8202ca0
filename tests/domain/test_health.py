"""The health verdict: the database, the QQ side's absence counted from the start or the last
disconnect, and what the answer shows."""

from domain.accounts import Accounts
from domain.health import BackupRecord, DatabaseCheck, Queue, health

GOOD = DatabaseCheck(True, "ok", 1000.0)


def verdict(accounts: Accounts, now: float, database=GOOD, minutes=10.0, queue=Queue(0, None)):
    return health(now, started_at=1000.0, database=database, accounts=accounts.all(),
                  queue=queue, backup=BackupRecord(900.0, True, 0.5), version="0.1.0",
                  schema=16, offline_minutes=minutes)


def test_connected_is_healthy_and_broken_database_is_not():
    accounts = Accounts()
    accounts.connect(3001, 1000.0)
    status, body = verdict(accounts, 5000.0)
    assert status == 200 and body["accounts"]["connected"] == 1
    assert body["backup"] == {"ok": True, "at": 900, "seconds_ago": 4100, "took_seconds": 0.5,
                              "source": "run"}
    status, body = verdict(accounts, 5000.0, DatabaseCheck(False, "page 3: btree", 4990.0))
    assert status == 503 and body["database"]["detail"] == "page 3: btree"


def test_no_account_counts_from_the_start_then_from_the_last_disconnect():
    accounts = Accounts()
    assert verdict(accounts, 1000.0 + 599)[0] == 200  # the QQ side has ten minutes to come
    assert verdict(accounts, 1000.0 + 600)[0] == 503
    accounts.connect(3001, 1500.0)
    accounts.disconnect(3001, 2000.0)
    status, body = verdict(accounts, 2000.0 + 599)
    assert status == 200 and body["accounts"]["offline_seconds"] == 599
    status, body = verdict(accounts, 2000.0 + 600)
    assert status == 503 and "10 分钟没有 QQ 账号连接" in body["problems"][0]


def test_queue_and_paused_targets_without_numbers():
    accounts = Accounts(risk_failures=1, risk_pause_seconds=300)
    accounts.connect(3001, 1000.0)
    accounts.connect(3002, 1000.0)
    accounts.failed(3001, 1100.0)  # paused until 1400
    accounts.mute(3002, 700001, 1300.0)
    status, body = verdict(accounts, 1200.0, queue=Queue(7, 1150.0))
    assert status == 200
    assert body["outbox"] == {"pending": 7, "oldest_pending_seconds": 50}
    assert body["paused"] == {"accounts": 1, "accounts_until": [1400], "muted_groups": 1,
                              "muted_until": [1300]}
    assert "3001" not in str(body) and "700001" not in str(body)
