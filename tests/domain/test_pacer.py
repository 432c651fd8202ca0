from domain.outbox import SendPacer


def test_first_message_goes_at_once_then_interval_per_group():
    pacer = SendPacer(interval=1.5, per_minute=20)
    assert pacer.delay("group:1", 100.0) == 0
    pacer.record("group:1", 100.0)
    assert pacer.delay("group:1", 100.5) == 1.0
    assert pacer.delay("group:2", 100.5) == 0  # another group is not held back
    assert pacer.delay("group:1", 101.5) == 0


def test_global_rate_is_a_sliding_minute():
    pacer = SendPacer(interval=0, per_minute=3)
    for t in (0.0, 10.0, 20.0):
        pacer.record(f"group:{t}", t)
    assert pacer.delay("group:new", 30.0) == 30.0  # the send at 0 leaves the window at 60
    assert pacer.delay("group:new", 60.0) == 0
