"""An observer who copies the database files after every ballot of an anonymous poll, and
replays the write-ahead log commit by commit, cannot narrow any voter's choice below a batch of
``anonymous_batch`` ballots (issue 20, finding 3). Over the real WebSocket: members vote
privately, as the bot advises for anonymous polls."""

import sqlite3
import struct
from pathlib import Path

from tests.e2e.onebot import OneBotClient, message_text

GROUP = 86601
OWNER = 61601
VOTERS = [72001 + i for i in range(12)]
BATCH = 5  # anonymous_batch, the default
WAL_HEADER, FRAME_HEADER = 32, 24


def committed_states(db: bytes, wal: bytes) -> list[bytes]:
    """Every database image an observer can rebuild from a copy of the files: the database file
    alone, then that file with the log's frames applied up to each commit frame, in the order
    they are in the log (a frame left over from an earlier generation of the log, with other
    salts, is applied too: it may still show an old page)."""
    states = [db]
    if len(wal) < WAL_HEADER:
        return states
    page_size = struct.unpack(">I", wal[8:12])[0]
    image = bytearray(db)
    offset = WAL_HEADER
    while offset + FRAME_HEADER + page_size <= len(wal):
        page_no, size_after = struct.unpack(">II", wal[offset:offset + 8])
        page = wal[offset + FRAME_HEADER:offset + FRAME_HEADER + page_size]
        start = (page_no - 1) * page_size
        if len(image) < start + page_size:
            image.extend(bytes(start + page_size - len(image)))
        image[start:start + page_size] = page
        if size_after:  # a commit frame: the database after that transaction
            del image[size_after * page_size:]
            states.append(bytes(image))
        offset += FRAME_HEADER + page_size
    return states


def read_poll(image: bytes, scratch: Path, poll_id: int) -> tuple[frozenset, tuple] | None:
    """(voters counted, tallies) in one rebuilt image; None if it cannot be read."""
    scratch.write_bytes(image)
    try:
        with sqlite3.connect(f"file:{scratch}?immutable=1", uri=True) as db:
            voters = frozenset(r[0] for r in db.execute(
                "SELECT user_id FROM poll_voters WHERE poll_id = ?", (poll_id,)))
            tallies = tuple(r[0] for r in db.execute(
                "SELECT votes FROM poll_tallies WHERE poll_id = ? ORDER BY position",
                (poll_id,)))
    except sqlite3.DatabaseError:
        return None
    return voters, tallies


def batches_seen(copies: list[tuple[bytes, bytes]], scratch: Path,
                 poll_id: int) -> list[tuple[frozenset, tuple]]:
    """What the observer learns: each time the tallies change, the voters counted since the
    previous change, and how the tallies moved. Those voters are the smallest set the
    observer can tie that movement to."""
    learned = []
    seen: set[tuple[frozenset, tuple]] = set()
    previous: tuple[frozenset, tuple] | None = None
    for db, wal in copies:  # each copy replays from its database file: old states come first
        for image in committed_states(db, wal):
            state = read_poll(image, scratch, poll_id)
            if state is None or not state[1]:
                continue
            if state not in seen and previous is not None and state[1] != previous[1]:
                moved = tuple(b - a for a, b in zip(previous[1], state[1], strict=True))
                learned.append((state[0] - previous[0], moved))
            seen.add(state)
            previous = state
    return learned


def copy_files(db_path: Path) -> tuple[bytes, bytes]:
    """Copy the database and its log as they are this moment (what a thief would take)."""
    wal = Path(f"{db_path}-wal")
    return db_path.read_bytes(), wal.read_bytes() if wal.exists() else b""


async def test_replaying_the_log_narrows_no_voter_below_a_batch(bot_process, tmp_path):
    db_path = Path(bot_process.db_path)
    choices = {uid: 1 + (uid * 7) % 3 for uid in VOTERS}  # a spread of 1, 2 and 3
    copies = []
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        for i, uid in enumerate(VOTERS):
            assert "已登记" in message_text(await qq.reply_to(GROUP, uid, f"/登记 同学{i}"))
        call = await qq.reply_to(GROUP, OWNER, "/投票 发起 去哪里 | 甲地 | 乙地 | 丙地 匿名",
                                 role="owner")
        assert "已发起投票 #1" in message_text(call)
        for uid in VOTERS:
            await qq.private_message(uid, f"/投票 #1 {choices[uid]}")
            reply = message_text(await qq.next_call())
            assert "已收到你在匿名投票 #1 的选票" in reply  # received, never "counted"
            copies.append(copy_files(db_path))
        call = await qq.reply_to(GROUP, OWNER, "/投票 结束 #1", role="owner")
        assert "已投票 12 人" in message_text(call)
        copies.append(copy_files(db_path))

    learned = batches_seen(copies, tmp_path / "observer.db", poll_id=1)
    # every voter is seen counted, in batches, and the tallies add up to what was chosen
    assert set().union(*(voters for voters, _ in learned)) == set(VOTERS)
    assert [sum(moved) for _, moved in learned] == [len(voters) for voters, _ in learned]
    final = tuple(sum(1 for c in choices.values() if c == p) for p in (1, 2, 3))
    assert tuple(map(sum, zip(*(moved for _, moved in learned), strict=True))) == final
    # no batch is smaller than anonymous_batch: the observer narrows nobody further
    assert min(len(voters) for voters, _ in learned) >= BATCH, [len(v) for v, _ in learned]
    # and after the close the log is empty: its earlier frames are gone from the files
    assert copies[-1][1] == b""
