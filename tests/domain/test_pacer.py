from domain.outbox import SendPacer


def test_first_message_goes_at_once_then_interval_per_group():
    pacer = SendPacer(interval=1.5, per_minute=20)
    assert pacer.delay("group:1", 100.0) == 0
    pacer.record("group:1", 100.0)
    assert pacer.delay("group:1", 100.5, account=2) == 1.0  # another account: the interval
    assert pacer.delay("group:2", 100.5) == 2.5  # the same account spreads its sends: 60/20 s
    assert pacer.delay("group:1", 103.0) == 0


def test_global_rate_is_a_sliding_minute():
    pacer = SendPacer(interval=0, per_minute=3)
    for t in (0.0, 10.0, 20.0):
        pacer.record(f"group:{t}", t)
    assert pacer.delay("group:new", 30.0) == 30.0  # the send at 0 leaves the window at 60
    assert pacer.delay("group:new", 60.0) == 0


def test_each_account_sends_evenly_spread_and_accounts_do_not_hold_each_other_back():
    pacer = SendPacer(interval=1.5, per_minute=20)  # one send every 3 s per account
    pacer.record("group:1", 0.0, account=7)
    assert pacer.delay("group:2", 1.0, account=7) == 2.0  # spread out, not a burst of 20
    assert pacer.delay("group:2", 1.0, account=8) == 0  # another account is free
    assert pacer.delay("group:1", 1.0, account=8) == 0.5  # but a group waits its interval


def test_restored_sends_keep_both_limits_after_a_restart():
    pacer = SendPacer(interval=1.5, per_minute=20)
    pacer.restore([("group:1", 10.0, 7), ("group:2", 11.0, 8)])
    assert pacer.delay("group:1", 11.0, account=9) == 0.5
    assert pacer.delay("group:3", 11.0, account=7) == 2.0
    assert pacer.last_sent("group:2") == 11.0


def test_the_pacer_forgets_quiet_targets_so_its_memory_stays_bounded():
    from domain.outbox import PACER_TARGETS_MAX

    pacer = SendPacer(interval=1.5, per_minute=20)
    for i in range(PACER_TARGETS_MAX * 3):
        pacer.record(f"private:{i}", float(i), account=1)
    assert len(pacer._last) <= PACER_TARGETS_MAX + 1
    assert pacer.last_sent(f"private:{PACER_TARGETS_MAX * 3 - 1}") is not None
