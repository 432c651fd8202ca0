"""The duplicate filter's key and its memory across a restart (issue 20, finding 5)."""

from domain.guard import SeenEvents, event_key


def key(**overrides) -> bytes:
    fields = dict(group_id=5001, user_id=7, event_time=1000, content="/积分", self_id=1,
                  message_id=11)
    return event_key(**{**fields, **overrides})


def test_a_group_message_has_one_key_whichever_account_delivered_it():
    assert key(self_id=1, message_id=11) == key(self_id=2, message_id=98765)
    assert key() != key(content="/积分榜")
    assert key() != key(event_time=1001)
    assert key() != key(user_id=8)
    assert key() != key(group_id=5002)


def test_a_private_message_keeps_the_account_and_hashes_no_text():
    private = dict(group_id=None)
    assert key(**private) != key(**private, self_id=2)
    assert key(**private) != key(**private, message_id=12)
    # the text is not part of a private key: nothing typed privately can be tested against it
    assert key(**private, content="/投票 #3 1") == key(**private, content="/投票 #3 2")


def test_keys_read_back_at_start_up_are_remembered_for_the_rest_of_their_window():
    seen = SeenEvents(120)
    assert seen.load([(b"old", 0.0), (b"recent", 900.0)], now=1000.0) == 1
    assert not seen.first_time(b"recent", 1000.0)
    assert seen.first_time(b"old", 1000.0)
    assert seen.first_time(b"recent", 1021.0)  # its window ended at 900 + 120
