"""The outgoing queue's pace, fairness and failover on the bot's own clock (no waiting).

Run by hand:
    python bench/send_pace.py [--reminders 300] [--groups 12]

The real dispatcher (runtime/outbox.py) and the real database, with a simulated clock that the
dispatcher's waits move forward (as in tests/runtime), so the figures are seconds of the bot's
clock, exact and repeatable on a noisy machine. QQ accounts are fake bots that accept every
send. Printed:

1. **Another branch's wait** (issue 20, finding 8): branch A's 300 reminders are queued (what
   300 `cron * * * * *` reminders queue in one minute), then branch B's `/公告`. Before, the
   global 20/min limit let 20 of A's messages out in the first 4 s of a minute and then nothing,
   so B waited up to 55 s; now each account sends one message every 60/20 = 3 s and targets take
   turns, so B waits at most one spacing plus its turn.
2. **A muted group and a paused account** (issue 19): B's group is muted on the only account for
   an hour, or the account pauses after failures in a row (risk control); branch C's message,
   queued after, still goes within one spacing.
3. **One broadcast over one, two and three accounts** (issue 22): a `/公告` to 12 groups with
   `send_rate_per_minute` 20 per account, each account in 8 of the 12 groups (as the issue's
   scenario): the time until the last group has it, and the ratio to one account.
4. **Failover**: 300 messages to 12 groups over three accounts; one account disconnects halfway;
   every message is delivered exactly once, and how long the messages that account was to carry
   waited.

Measured 2026-12-05 (the bot's clock, so the machine's load does not matter):

  another branch's wait behind 300 reminders, 1 account     3.0 s   (was up to 55 s)
  ... B's group muted for an hour on the account: C waits   6.0 s   (the refused attempt
      to B's group took one spacing; B then waits for the mute, A and C go on)
  ... account 1 paused (risk control): C waits              3.0 s   (carried by account 2,
      which was also busy with A's reminders)
  broadcast to 12 groups: 1 account 33.0 s, 2 accounts 15.0 s (0.45), 3 accounts 9.0 s (0.27;
      each of the three carries 4 groups)
  failover: 300 messages, account 3 drops after 150: 300 delivered, 0 twice, the dropped
  account's groups resumed on another account at once (0.0 s)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import BranchConfig  # noqa: E402
from domain.clock import FrozenClock  # noqa: E402
from domain.outbox import text_segment  # noqa: E402
from domain.services import open_services  # noqa: E402

START = datetime(2027, 3, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class AcceptingBot:
    """A QQ account that takes every send (and can be told to fail or to be muted)."""

    def __init__(self, clock: FrozenClock, self_id: int) -> None:
        self.clock = clock
        self.self_id = str(self_id)
        self.sent: list[tuple[float, int | None, str]] = []
        self.fail = False
        self.muted: set[int] = set()

    async def call_api(self, api: str, **data):
        from nonebot.adapters.onebot.v11 import ActionFailed

        group = data.get("group_id")
        if api == "get_group_msg_history":
            return {"messages": []}
        if self.fail:
            raise ActionFailed(status="failed", retcode=1200, message="风控")
        if group in self.muted:
            raise ActionFailed(status="failed", retcode=1200, message="当前处于被禁言状态")
        text = "".join(seg.data.get("text", "") for seg in data.get("message", []))
        self.sent.append((self.clock.now().timestamp(), group or data.get("user_id"), text))
        return {"message_id": len(self.sent)}


async def world(folder: Path, name: str, settings: BranchConfig):
    """Services on a fresh database, a clock, and a dispatcher whose waits move the clock."""
    from runtime.outbox import OutboxDispatcher

    clock = FrozenClock(START)
    svc = await open_services(settings, clock, str(folder / f"{name}.db"))
    bots: dict[int, AcceptingBot] = {}

    async def sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    dispatcher = OutboxDispatcher(svc, lambda: bots, sleep=sleep)
    return svc, clock, bots, dispatcher


def account(svc, bots, clock, self_id: int, groups) -> AcceptingBot:
    bot = bots[self_id] = AcceptingBot(clock, self_id)
    state = svc.accounts.connect(self_id, clock.timestamp())
    state.groups = set(groups)
    return bot


async def until(dispatcher, done, limit: int = 100_000) -> None:
    for _ in range(limit):
        if done():
            return
        await dispatcher.tick()
    raise RuntimeError("never done")


async def another_branch_waits(folder: Path, settings: BranchConfig, reminders: int) -> dict:
    results = {}
    for case in ("plain", "muted", "paused"):
        svc, clock, bots, dispatcher = await world(folder, f"wait-{case}", settings)
        try:
            a = await svc.branches.branch_for_group(710001)
            b = await svc.branches.branch_for_group(720001)
            c = await svc.branches.branch_for_group(730001)
            first = account(svc, bots, clock, 1, {710001, 720001, 730001})
            if case == "paused":
                account(svc, bots, clock, 2, {710001, 720001, 730001})
            for i in range(reminders):
                await svc.outbox.to_branch(a.id, [text_segment(f"⏰ 刷屏{i}")], "reminder")
            if case == "muted":
                first.muted.add(720001)
                await svc.outbox.to_branch(b.id, [text_segment("禁言群的公告")], "announcement")
            if case == "paused":
                svc.accounts.get(1).paused_until = clock.timestamp() + 3600
            start = clock.timestamp()
            target = 730001 if case != "plain" else 720001
            branch = c if case != "plain" else b
            await svc.outbox.to_branch(branch.id, [text_segment("📢 其他支部的公告")],
                                       "announcement")
            await until(dispatcher, lambda t=target, bs=bots: any(
                g == t for bot in bs.values() for _, g, _ in bot.sent))
            sent_at = min(s for bot in bots.values() for s, g, _ in bot.sent if g == target)
            results[case] = sent_at - start
        finally:
            await dispatcher.stop()
            await svc.db.close()
    return results


def membership(groups: list[int], accounts: int) -> dict[int, set[int]]:
    """Each account in 8 of the 12 groups (the issue's scenario), all groups covered."""
    return {i + 1: {g for j, g in enumerate(groups) if (j - 4 * i) % len(groups) < 8}
            for i in range(accounts)}


async def broadcast(folder: Path, settings: BranchConfig, accounts: int,
                    count: int = 12) -> float:
    svc, clock, bots, dispatcher = await world(folder, f"broadcast-{accounts}", settings)
    try:
        groups = [810000 + i for i in range(count)]
        branch = await svc.branches.branch_for_group(groups[0])
        for g in groups[1:]:
            await svc.branches.branches.bind_group(g, branch.id, 1, 0)
        for self_id, inside in (membership(groups, 3) if accounts == 3 else
                                {i + 1: set(groups) for i in range(accounts)}).items():
            if self_id <= accounts:
                account(svc, bots, clock, self_id, inside)
        start = clock.timestamp()
        await svc.outbox.to_branch(branch.id, [text_segment("📢 全校公告")], "announcement")
        await dispatcher.drain()
        return max(s for bot in bots.values() for s, _, _ in bot.sent) - start
    finally:
        await dispatcher.stop()
        await svc.db.close()


async def failover(folder: Path, settings: BranchConfig, messages: int = 300) -> dict:
    svc, clock, bots, dispatcher = await world(folder, "failover", settings)
    try:
        groups = [820000 + i for i in range(12)]
        for self_id, inside in membership(groups, 3).items():
            account(svc, bots, clock, self_id, inside)
        for i in range(messages):
            await svc.outbox.to_group(groups[i % 12], [text_segment(f"消息{i}")], "reminder")
        await until(dispatcher, lambda: sum(len(b.sent) for b in bots.values()) >= messages // 2)
        dropped = bots.pop(3)
        dropped_at = clock.timestamp()
        await dispatcher.drain()
        texts = [t for bot in [*bots.values(), dropped] for _, _, t in bot.sent]
        resumed = [s for bot in bots.values() for s, g, _ in bot.sent
                   if s >= dropped_at and g in membership(groups, 3)[3]]
        return {"delivered": len(set(texts)), "twice": len(texts) - len(set(texts)),
                "resumed_after": (min(resumed) - dropped_at) if resumed else None}
    finally:
        await dispatcher.stop()
        await svc.db.close()


async def main(reminders: int, count: int) -> None:
    import nonebot

    nonebot.init(superusers={"10000"}, log_level="WARNING")
    settings = BranchConfig()
    with tempfile.TemporaryDirectory(prefix="zhibu-pace-") as folder:
        path = Path(folder)
        waits = await another_branch_waits(path, settings, reminders)
        print(f"another branch's wait behind {reminders} reminders, 1 account: "
              f"{waits['plain']:.1f} s")
        print(f"  B's group muted for an hour on the account: C waits {waits['muted']:.1f} s")
        print(f"  account 1 paused (risk control): C waits {waits['paused']:.1f} s "
              "(goes on account 2)")
        one = await broadcast(path, settings, 1, count)
        times = {n: await broadcast(path, settings, n, count) for n in (2, 3)}
        print(f"broadcast to {count} groups at {settings.send_rate_per_minute}/min per account: "
              f"1 account {one:.1f} s, " + ", ".join(
                  f"{n} accounts {t:.1f} s ({t / one:.2f})" for n, t in times.items()))
        result = await failover(path, settings)
        print(f"failover: 300 messages, account 3 drops halfway: {result['delivered']} "
              f"delivered, {result['twice']} twice; its groups resumed on another account "
              f"after {result['resumed_after']:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reminders", type=int, default=300)
    parser.add_argument("--groups", type=int, default=12)
    args = parser.parse_args()
    asyncio.run(main(args.reminders, args.groups))
