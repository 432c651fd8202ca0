"""The accounts registry and the routes a message may take (domain/accounts.py, delivery.py)."""

from domain.accounts import Accounts
from domain.delivery import Failure, Route, classify, routes


def registry() -> Accounts:
    accounts = Accounts(risk_failures=3, risk_pause_seconds=300, risk_pause_max_seconds=1000)
    napcat = accounts.connect(1, 0)
    napcat.app_name, napcat.groups, napcat.friends = "NapCat.Onebot", {10}, {100}
    llonebot = accounts.connect(2, 0)
    llonebot.app_name, llonebot.groups, llonebot.friends = "LLOneBot", {10, 20}, {200}
    return accounts


def test_lists_read_at_connect_are_hints_and_a_refusal_settles_it():
    accounts = registry()
    one = accounts.get(1)
    assert one.is_friend(100) is True and one.is_friend(999) is None  # not listed: unknown
    assert one.in_group(10) is True and one.in_group(30) is None
    accounts.not_a_friend(1, 999)
    accounts.left(1, 30)
    assert one.is_friend(999) is False and one.in_group(30) is False
    accounts.befriended(1, 999)
    accounts.joined(1, 30)
    assert one.is_friend(999) is True and one.in_group(30) is True


def test_failures_in_a_row_pause_an_account_doubling_each_time_and_a_send_resets():
    accounts = registry()
    assert accounts.failed(1, 0) is None and accounts.failed(1, 0) is None
    assert accounts.failed(1, 0) == 300  # the third in a row
    assert [accounts.failed(1, 300) for _ in range(3)][-1] == 300 + 600
    assert [accounts.failed(1, 900) for _ in range(3)][-1] == 900 + 1000  # capped
    accounts.sent(1, 2000)
    assert accounts.get(1).pause_level == 0 and accounts.get(1).failures == 0


def test_a_group_goes_through_an_account_in_it_that_is_neither_muted_nor_paused():
    accounts = registry()
    assert routes(accounts, {1, 2}, "group", 10, "announcement", None, 0) == [Route(1),
                                                                             Route(2)]
    # known members only; a guess only when nobody is known to be in the group
    assert routes(accounts, {1, 2}, "group", 20, "announcement", None, 0) == [Route(2)]
    assert routes(accounts, {1, 2}, "group", 30, "announcement", None, 0) == [Route(1),
                                                                             Route(2)]
    accounts.mute(2, 20, 600)
    accounts.left(1, 20)
    assert routes(accounts, {1, 2}, "group", 20, "announcement", None, 0) == []  # waits
    assert routes(accounts, {1, 2}, "group", 20, "announcement", None, 601) == [Route(2)]


def test_a_secret_goes_only_directly_and_a_personal_notice_may_take_a_temp_session():
    accounts = registry()
    # a friend of account 2 only: account 2 first; account 1 may try (it does not know)
    assert routes(accounts, {1, 2}, "private", 200, "checkin_code", 10, 0) == [Route(2),
                                                                              Route(1)]
    accounts.not_a_friend(1, 300)
    accounts.not_a_friend(2, 300)
    # nobody's friend: a secret is undeliverable; a personal notice goes through NapCat's
    # temporary session in the group it names (LLOneBot has none)
    assert routes(accounts, {1, 2}, "private", 300, "checkin_code", 10, 0) is None
    assert routes(accounts, {1, 2}, "private", 300, "waitlist_promoted", 10, 0) == [
        Route(1, 10)]
    assert routes(accounts, {2}, "private", 300, "waitlist_promoted", 10, 0) is None


def test_failures_are_read_as_each_qq_side_words_them():
    assert classify('EventChecker Failed … "result": 120, "errMsg": ""', 1200,
                    "group") is Failure.MUTED
    assert classify("当前处于被禁言状态", 1200, "group") is Failure.MUTED
    assert classify("", 110, "group") is Failure.REMOVED  # Lagrange: the bare code
    assert classify("{ result: 16, errMsg: '发送失败，请先添加对方为好友' }", 1200,
                    "private") is Failure.NOT_FRIEND
    assert classify("", 16, "group") is Failure.REMOVED  # a group that is gone (Lagrange)
    assert classify("Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg", 1200,
                    "group") is Failure.TIMEOUT
    assert classify("", 9057, "group") is Failure.TIMEOUT
    assert classify("rich media transfer failed", 1200, "group") is Failure.TRANSIENT
