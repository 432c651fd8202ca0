"""The fake QQ side itself (``tools/onebot.py``, ``tools/qqworld.py``, ``tools/qqprofiles.py``),
driven without a bot: raw OneBot calls answered by ``OneBotClient.answer``, and events read
from a local WebSocket server that stands in for the bot. These tests are the executable form
of ``/work/research/onebot_impls.md``: each profile answers as that implementation's source."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import urllib.request
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from websockets.asyncio.server import serve

from tools.onebot import OneBotClient
from tools.qqprofiles import PROFILES
from tools.qqworld import QQWorld, parse_cq, render

BOT, BOT2, BOT3 = 3000000001, 3000000002, 3000000003
GROUP, OTHER_GROUP = 81001, 81002
ALICE, BOB, CAROL, STRANGER = 50001, 50002, 50003, 59999
REAL = ("napcat", "llonebot", "lagrange")
NAPCAT_CHECKER = ("EventChecker Failed: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg "
                  "ListenerName:NodeIKernelMsgListener/onMsgInfoListUpdate EventRet:\n")


def text(message: str) -> list[dict]:
    return [{"type": "text", "data": {"text": message}}]


def branch_world(**options) -> QQWorld:
    """One group with the bot account in it and Alice and Bob as members."""
    world = QQWorld(**options)
    world.group(GROUP, "测试群", accounts=[BOT], members=[ALICE, BOB])
    return world


def account(profile: str, world: QQWorld | None = None, self_id: int = BOT,
            **options) -> OneBotClient:
    return OneBotClient(0, profile=profile, world=world or branch_world(), self_id=self_id,
                        **options)


def call(qq: OneBotClient, action: str, echo: str | None = "7", **params) -> dict:
    request = {"action": action, "params": params}
    if echo is not None:
        request["echo"] = echo
    return qq.answer(request)


def send_private(qq: OneBotClient, user_id: int, message: str = "你好", **extra) -> dict:
    return call(qq, "send_private_msg", user_id=user_id, message=text(message), **extra)


def send_group(qq: OneBotClient, group_id: int = GROUP, message: str = "通知") -> dict:
    return call(qq, "send_group_msg", group_id=group_id, message=text(message))


class BotEnd:
    """A WebSocket server standing in for the bot: records events, makes calls."""

    def __init__(self) -> None:
        self.events: dict[int, asyncio.Queue] = {}
        self.sockets: dict[int, object] = {}
        self.waiting: dict[str, asyncio.Future] = {}
        self.port = 0
        self._echo = 0

    async def handler(self, ws) -> None:
        self_id = int(ws.request.headers["X-Self-ID"])
        self.sockets[self_id] = ws
        queue = self.events.setdefault(self_id, asyncio.Queue())
        async for raw in ws:
            message = json.loads(raw)
            if "post_type" in message:
                if message["post_type"] != "meta_event":
                    queue.put_nowait(message)
            else:
                self.waiting.pop(str(message.get("echo")), asyncio.Future()).set_result(message)

    async def call(self, self_id: int, action: str, **params) -> dict:
        self._echo += 1
        echo = str(self._echo)
        self.waiting[echo] = asyncio.get_running_loop().create_future()
        await self.sockets[self_id].send(json.dumps({"action": action, "params": params,
                                                     "echo": echo}))
        return await asyncio.wait_for(self.waiting[echo], 5)

    async def event(self, self_id: int = BOT, timeout: float = 2) -> dict:
        queue = self.events.setdefault(self_id, asyncio.Queue())
        return await asyncio.wait_for(queue.get(), timeout)

    async def no_event(self, self_id: int = BOT, wait: float = 0.4) -> None:
        with pytest.raises(TimeoutError):
            await self.event(self_id, wait)


@pytest.fixture
async def bot_end():
    end = BotEnd()
    async with serve(end.handler, "127.0.0.1", 0) as server:
        end.port = server.sockets[0].getsockname()[1]
        yield end


@asynccontextmanager
async def connected(end: BotEnd, profile: str, world: QQWorld, self_id: int = BOT, **options):
    async with OneBotClient(end.port, profile=profile, world=world, self_id=self_id,
                            **options) as qq:
        for _ in range(100):  # until the server has registered the connection
            if self_id in end.sockets:
                break
            await asyncio.sleep(0.01)
        yield qq


# -- envelopes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("profile", "keys"), [
    ("plain", ["status", "retcode", "data", "echo"]),
    ("napcat", ["status", "retcode", "data", "message", "wording", "echo", "stream"]),
    ("llonebot", ["status", "retcode", "data", "message", "wording", "echo"]),
    ("lagrange", ["status", "retcode", "data", "echo"]),
])
async def test_success_envelope_keys(profile, keys):
    answer = send_private(account(profile), ALICE)
    assert list(answer) == keys
    assert answer["status"] == "ok" and answer["retcode"] == 0 and answer["echo"] == "7"
    assert isinstance(answer["data"]["message_id"], int)


async def test_echo_when_the_request_has_none():
    # NapCat WS: echo ?? ""; LLOneBot: key left out; Lagrange: null
    assert call(account("napcat"), "get_login_info", echo=None)["echo"] == ""
    assert "echo" not in call(account("llonebot"), "get_login_info", echo=None)
    assert call(account("lagrange"), "get_login_info", echo=None)["echo"] is None
    assert call(account("napcat"), "get_login_info", echo=None)["stream"] == "normal-action"


async def test_unknown_actions():
    napcat = call(account("napcat"), "fly_to_moon")
    assert (napcat["status"], napcat["retcode"], napcat["message"]) == (
        "failed", 1404, "不支持的API fly_to_moon")
    llonebot = call(account("llonebot"), "fly_to_moon")
    assert (llonebot["retcode"], llonebot["message"]) == (1404, "fly_to_moon API 不存在")
    assert call(account("lagrange"), "fly_to_moon") == {
        "status": "failed", "retcode": 404, "data": None, "echo": "7"}
    plain = call(account("plain"), "fly_to_moon")  # the old client said yes to everything
    assert plain["status"] == "ok" and "message_id" in plain["data"]


async def test_injected_failures_results_and_the_respond_hook():
    napcat = account("napcat")
    napcat.failures["send_group_msg"] = 1
    failed = send_group(napcat)
    assert (failed["status"], failed["retcode"], failed["message"]) == (
        "failed", 1200, "e2e failure")
    assert send_group(napcat)["status"] == "ok"
    lagrange = account("lagrange")
    lagrange.failures["get_group_info"] = 1
    assert call(lagrange, "get_group_info", group_id=GROUP)["retcode"] == 200
    lagrange.results["get_group_info"] = {"member_count": 300}  # a pinned answer wins
    assert call(lagrange, "get_group_info", group_id=GROUP) == {
        "status": "ok", "retcode": 0, "data": {"member_count": 300}, "echo": "7"}
    plain = account("plain")
    plain.failures["send_msg"] = 1
    assert call(plain, "send_msg", group_id=GROUP, message=text("x")) == {
        "status": "failed", "retcode": 1200, "data": None, "message": "e2e failure",
        "echo": "7"}


# -- private sends -----------------------------------------------------------------------------


@pytest.mark.parametrize("profile", list(PROFILES))
async def test_a_friend_gets_a_private_message(profile):
    qq = account(profile)
    assert send_private(qq, ALICE, "签到码 1234")["status"] == "ok"
    assert qq.world.private_texts(ALICE) == ["签到码 1234"]
    assert not qq.world.private_messages(ALICE)[0].temp


async def test_non_friend_without_group_id():
    for profile in REAL:
        qq = account(profile)
        qq.world.unfriend(ALICE)
        answer = send_private(qq, ALICE)
        assert answer["status"] == "failed" and qq.world.private_texts(ALICE) == []
        if profile == "napcat":  # unconfirmed: QQ's result 16 rather than a 10 s timeout
            assert answer["retcode"] == 1200
            assert answer["message"] == NAPCAT_CHECKER + (
                '{\n    "result": 16,\n    "errMsg": "发送失败，请先添加对方为好友"\n}\n')
        elif profile == "llonebot":
            assert answer["message"].startswith(
                "invoke failed, wrapperSession.getMsgService().sendMsg, [ '0', { chatType: 1, ")
            assert answer["message"].endswith(
                "{ result: 16, errMsg: '发送失败，请先添加对方为好友' }")
            assert answer["wording"] == answer["message"]
        else:
            assert answer == {"status": "failed", "retcode": 9057, "data": None, "echo": "7"}
    plain = account("plain")
    plain.world.unfriend(ALICE)
    assert send_private(plain, ALICE)["status"] == "ok"  # the plain client knows no rules


async def test_non_friend_with_group_id_napcat_opens_a_temp_session():
    napcat = account("napcat")
    napcat.world.unfriend(ALICE)
    assert send_private(napcat, ALICE, "提醒", group_id=GROUP)["status"] == "ok"
    [delivered] = napcat.world.private_messages(ALICE)
    assert delivered.temp and delivered.via_group == GROUP and delivered.text == "提醒"
    # LLOneBot ignores group_id (createMessage.ts createPeer); Lagrange always Friend()
    llonebot = account("llonebot")
    llonebot.world.unfriend(ALICE)
    assert "result: 16" in send_private(llonebot, ALICE, group_id=GROUP)["message"]
    lagrange = account("lagrange")
    lagrange.world.unfriend(ALICE)
    assert send_private(lagrange, ALICE, group_id=GROUP)["retcode"] == 9057
    assert llonebot.world.private_texts(ALICE) == lagrange.world.private_texts(ALICE) == []


async def test_group_forbidding_temp_chat_gives_result_103():
    napcat = account("napcat")
    napcat.world.unfriend(ALICE)
    napcat.world.group(GROUP).temp_chat = False
    answer = send_private(napcat, ALICE, group_id=GROUP)
    assert '"result": 103' in answer["message"] and napcat.world.private_texts(ALICE) == []


async def test_napcat_posts_a_private_message_to_the_group_when_it_cannot_resolve_the_user():
    napcat = account("napcat")
    napcat.world.unfriend(STRANGER)  # no friend, in no group the account is in
    answer = send_private(napcat, STRANGER, "你的签到码：4321", group_id=GROUP)
    assert answer["status"] == "ok"  # SendMsg.ts L75-80: sent to the GROUP
    assert napcat.world.group_texts(GROUP) == ["你的签到码：4321"]
    assert napcat.world.group_messages(GROUP)[0].from_private_send
    assert napcat.world.where("4321") == [("group", GROUP)]
    assert napcat.world.private_texts(STRANGER) == []
    without = send_private(napcat, STRANGER)
    assert (without["retcode"], without["message"]) == (1200, "无法获取用户信息")
    llonebot = account("llonebot")
    llonebot.world.unfriend(STRANGER)
    assert send_private(llonebot, STRANGER, group_id=GROUP)["message"] == "无法获取用户信息"
    assert llonebot.world.group_texts(GROUP) == []


async def test_an_existing_temp_chat_is_used_without_group_id(bot_end):
    for profile in ("napcat", "llonebot"):
        world = branch_world()
        world.unfriend(CAROL)
        async with connected(bot_end, profile, world) as qq:
            await qq.private_message(CAROL, "/签到 1234", group_id=GROUP)
            await bot_end.event()
            answer = await bot_end.call(BOT, "send_private_msg", user_id=CAROL,
                                        message=text("签到成功"))
        assert answer["status"] == "ok", answer
        assert world.private_messages(CAROL)[0].via_group == GROUP
        bot_end.sockets.clear()


async def test_send_msg_routing():
    for profile in PROFILES:
        qq = account(profile)
        # no message_type, both ids: the group (all three)
        call(qq, "send_msg", user_id=ALICE, group_id=GROUP, message=text("都有"))
        assert qq.world.group_texts(GROUP) == ["都有"], profile
        call(qq, "send_msg", message_type="private", user_id=ALICE, group_id=GROUP,
             message=text("私"))
        assert qq.world.private_texts(ALICE) == ["私"], profile
    napcat = account("napcat")
    assert call(napcat, "send_private_msg", group_id=GROUP, message=text("x"))["message"] == (
        "当前私聊发送,请指定 user_id 而不是 group_id")
    assert call(napcat, "send_msg", message=text("x"))["message"] == (
        "请指定正确的 group_id 或 user_id")


async def test_string_messages_are_read_as_cq_codes():
    qq = account("napcat")
    call(qq, "send_group_msg", group_id=GROUP, message="[CQ:at,qq=all] 开会")
    assert qq.world.group_texts(GROUP) == ["@全体成员 开会"]
    call(qq, "send_group_msg", group_id=GROUP, message="[CQ:at,qq=all]", auto_escape=True)
    assert qq.world.group_texts(GROUP)[-1] == "[CQ:at,qq=all]"
    assert parse_cq("a&#91;b&#93;[CQ:face,id=1]") == [
        {"type": "text", "data": {"text": "a[b]"}}, {"type": "face", "data": {"id": "1"}}]
    assert render([{"type": "at", "data": {"qq": "5"}}, *text(" 你好")]) == "@5 你好"


async def test_empty_and_unsupported_messages():
    unknown = [{"type": "nonsense", "data": {}}]
    napcat = call(account("napcat"), "send_group_msg", group_id=GROUP, message=unknown)
    assert napcat["message"] == "消息体无法解析, 请检查是否发送了不支持的消息类型"
    llonebot = call(account("llonebot"), "send_group_msg", group_id=GROUP, message=unknown)
    assert llonebot["message"] == "消息体无法解析，请检查是否发送了不支持的消息类型"
    image = [{"type": "image", "data": {"file": "nowhere.png"}}]
    napcat = call(account("napcat"), "send_group_msg", group_id=GROUP, message=image)
    assert napcat["message"] == "文件处理失败: 识别URL失败, uri= nowhere.png"
    llonebot = call(account("llonebot"), "send_group_msg", group_id=GROUP, message=image)
    assert llonebot["message"] == "未知文件类型或路径不存在"
    assert call(account("lagrange"), "send_group_msg", group_id=GROUP,
                message=image)["retcode"] == 200  # relative path: UriFormatException
    node = [{"type": "node", "data": {"id": "1"}}]
    assert "send_group_forward_msg" in call(account("llonebot"), "send_group_msg",
                                            group_id=GROUP, message=node)["message"]


# -- group sends: muted, removed, gone ---------------------------------------------------------


async def test_muted_account(bot_end):
    expected = {
        "napcat": NAPCAT_CHECKER + '{\n    "result": 120,\n    "errMsg": ""\n}\n',
        "llonebot": "当前处于被禁言状态",  # its own pre-check (src/ntqqapi/core.ts L87-95)
    }
    for profile in REAL:
        world = branch_world()
        async with connected(bot_end, profile, world) as qq:
            await world.mute(GROUP, BOT, 600, operator_id=ALICE)
            notice = await bot_end.event()
            assert (notice["notice_type"], notice["sub_type"], notice["user_id"],
                    notice["duration"], notice["operator_id"]) == (
                "group_ban", "ban", BOT, 600, ALICE)
            answer = send_group(qq)
            if profile == "lagrange":
                assert answer == {"status": "failed", "retcode": 120, "data": None, "echo": "7"}
            else:
                assert (answer["retcode"], answer["message"]) == (1200, expected[profile])
            assert world.group_texts(GROUP) == []
            assert send_group(qq, OTHER_GROUP)["status"] == "ok"  # only that group
            await world.unmute(GROUP, BOT)
            lift = await bot_end.event()
            assert (lift["sub_type"], lift["duration"]) == ("lift_ban", 0)
            assert send_group(qq)["status"] == "ok"
        bot_end.sockets.clear()


async def test_whole_group_mute(bot_end):
    for profile in REAL:
        world = branch_world()
        async with connected(bot_end, profile, world) as qq:
            await world.mute_all(GROUP)
            notice = await bot_end.event()
            assert (notice["user_id"], notice["duration"]) == (0, -1)
            answer = send_group(qq)
            assert answer["status"] == "failed"
            if profile == "llonebot":  # unconfirmed: the kernel's result, not the pre-check
                assert answer["message"].endswith("{ result: 120, errMsg: '' }")
            world.set_role(GROUP, BOT, "admin")  # admins may speak
            assert send_group(qq)["status"] == "ok"
            await world.mute_all(GROUP, on=False)
            assert (await bot_end.event())["duration"] == 0
        bot_end.sockets.clear()


async def test_removed_from_the_group(bot_end):
    for profile in REAL:
        world = branch_world()
        async with connected(bot_end, profile, world) as qq:
            await world.remove_account(GROUP, BOT, operator_id=ALICE)
            notice = await bot_end.event()
            assert (notice["notice_type"], notice["user_id"]) == ("group_decrease", BOT)
            # LLOneBot: kick_me with the admin; Lagrange: operator often 0
            assert notice["sub_type"] == "kick_me"
            assert notice["operator_id"] == (0 if profile == "lagrange" else ALICE)
            answer = send_group(qq)
            if profile == "lagrange":
                assert answer["retcode"] == 110 and "message" not in answer
            else:
                assert "发送失败，你已被移出该群，请重新加群。" in answer["message"]
                assert "110" in answer["message"]
        bot_end.sockets.clear()
    world = branch_world()
    async with connected(bot_end, "llonebot", world):
        await world.remove_account(GROUP, BOT, operator_id=0)
        assert (await bot_end.event())["sub_type"] == "leave"  # no admin: `leave`


async def test_a_group_that_is_gone(bot_end):
    world = branch_world()
    async with connected(bot_end, "napcat", world) as qq:
        await world.disband(GROUP)
        notice = await bot_end.event()
        assert (notice["notice_type"], notice["sub_type"]) == ("group_decrease", "disband")
        assert '"result": 16' in send_group(qq)["message"]  # unconfirmed code
    lagrange = account("lagrange", QQWorld(auto_groups=False))
    assert send_group(lagrange, 99999)["retcode"] == 16  # never existed


async def test_bot_joins_a_group(bot_end):
    world = branch_world()
    async with connected(bot_end, "napcat", world) as qq:
        await world.add_account(OTHER_GROUP, BOT, operator_id=ALICE)
        event = await bot_end.event()
        assert (event["notice_type"], event["sub_type"], event["user_id"]) == (
            "group_increase", "invite", BOT)
        groups = call(qq, "get_group_list")["data"]
        assert {g["group_id"] for g in groups} == {GROUP, OTHER_GROUP}


# -- timeouts and risk control -----------------------------------------------------------------


async def test_timeouts_delivered_or_not():
    napcat = account("napcat")
    napcat.time_out_next(1, delivered=True)
    napcat.time_out_next(1, delivered=False)
    delivered = send_group(napcat, message="第一条")
    assert delivered["retcode"] == 1200 and delivered["message"] == (
        "Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg "
        "ListenerName:NodeIKernelMsgListener/onMsgInfoListUpdate EventRet:\n{}\n")  # #932
    lost = send_group(napcat, message="第二条")
    assert lost["message"].startswith("Timeout: NTEvent") and '"result": 0' in lost["message"]
    assert napcat.world.group_texts(GROUP) == ["第一条"]  # the first went out anyway
    assert send_group(napcat, message="第三条")["status"] == "ok"

    llonebot = account("llonebot")
    llonebot.time_out_next(1, delivered=True)
    answer = send_private(llonebot, ALICE, "到了")
    assert answer["message"].startswith("invoke timeout, wrapperSession.getMsgService().sendMsg, [")
    assert llonebot.world.private_texts(ALICE) == ["到了"]

    lagrange = account("lagrange")
    lagrange.time_out_next(2, delivered=False)
    assert send_group(lagrange) == {"status": "failed", "retcode": 9057, "data": None,
                                    "echo": "7"}
    assert send_private(lagrange, ALICE)["retcode"] == 9057
    assert lagrange.world.group_texts(GROUP) == [] and lagrange.world.private_texts(ALICE) == []


async def test_risk_control_loses_every_send():
    for profile in PROFILES:
        qq = account(profile, risk_control=True)
        for _ in range(3):
            assert send_group(qq)["status"] == "failed"
        assert send_private(qq, ALICE)["status"] == "failed"
        assert qq.world.group_texts(GROUP) == [] and qq.world.private_texts(ALICE) == []
        qq.account.risk_control = False
        assert send_group(qq)["status"] == "ok"


async def test_a_timeout_is_answered_late_and_does_not_hold_other_answers(bot_end):
    world = branch_world()
    async with connected(bot_end, "napcat", world, timeout_delay=0.6) as qq:
        qq.time_out_next(1, delivered=True)
        started = time.monotonic()
        slow = asyncio.create_task(bot_end.call(BOT, "send_group_msg", group_id=GROUP,
                                                message=text("慢")))
        await asyncio.sleep(0.05)
        fast = await bot_end.call(BOT, "send_group_msg", group_id=GROUP, message=text("快"))
        fast_after = time.monotonic() - started
        answer = await slow
        assert fast["status"] == "ok"
        assert answer["message"].startswith("Timeout") and time.monotonic() - started >= 0.6
        assert fast_after < 0.6  # answered while the other waited for its timeout
        assert world.group_texts(GROUP) == ["慢", "快"]


# -- events: group messages, several accounts, message_sent ------------------------------------


async def test_group_message_events_per_profile(bot_end):
    for profile in PROFILES:
        world = branch_world()
        async with connected(bot_end, profile, world) as qq:
            message_id = await qq.group_message(GROUP, ALICE, "/许愿 借伞", role="admin")
            event = await bot_end.event()
        bot_end.sockets.clear()
        assert event["message_id"] == message_id and event["post_type"] == "message"
        assert (event["group_id"], event["user_id"], event["sender"]["role"]) == (
            GROUP, ALICE, "admin")
        assert event["message"] == text("/许愿 借伞") and event["raw_message"] == "/许愿 借伞"
        seq = world.group_messages(GROUP)[0].seq
        if profile == "napcat":  # message_seq == message_id == real_id; real_seq a string
            assert event["message_seq"] == event["real_id"] == message_id > 0
            assert event["real_seq"] == str(seq) and event["message_format"] == "array"
        elif profile == "llonebot":
            assert event["message_seq"] == seq  # QQ's real seq
        elif profile == "lagrange":
            assert "message_seq" not in event
        assert world.role_in(GROUP, ALICE) == "admin"


async def test_every_account_in_the_group_delivers_its_own_copy(bot_end):
    world = branch_world()
    world.group(GROUP, accounts=[BOT2])
    world.group(OTHER_GROUP, accounts=[BOT3])
    async with connected(bot_end, "napcat", world, BOT), \
            connected(bot_end, "llonebot", world, BOT2), \
            connected(bot_end, "lagrange", world, BOT3):
        ids = await world.group_message(GROUP, ALICE, "/签到")
        one, two = await bot_end.event(BOT), await bot_end.event(BOT2)
        await bot_end.no_event(BOT3, 0.2)  # not in that group
        assert set(ids) == {BOT, BOT2} and ids[BOT] != ids[BOT2]
        assert (one["message_id"], two["message_id"]) == (ids[BOT], ids[BOT2])
        assert one["time"] == two["time"] and one["message"] == two["message"]
        # what one account sends, the other sees as a group message from that account
        answer = await bot_end.call(BOT, "send_group_msg", group_id=GROUP,
                                    message=text("已签到"))
        assert answer["status"] == "ok"
        seen = await bot_end.event(BOT2)
        assert (seen["user_id"], seen["message"]) == (BOT, text("已签到"))
        await bot_end.no_event(BOT, 0.2)  # no echo without report_self
        # a private message stays with the account it was sent to
        await world.private_message(ALICE, "/我的", BOT3)
        assert (await bot_end.event(BOT3))["user_id"] == ALICE
        await bot_end.no_event(BOT, 0.2)


async def test_message_sent_reports(bot_end):
    world = branch_world()
    async with connected(bot_end, "napcat", world, report_self=True,
                         report_self_delay=0.05) as qq:
        answer = await bot_end.call(BOT, "send_group_msg", group_id=GROUP, message=text("hi"))
        event = await bot_end.event()
        assert (event["post_type"], event["message_sent_type"], event["user_id"],
                event["target_id"], event["message_id"]) == (
            "message_sent", "self", BOT, GROUP, answer["data"]["message_id"])
        qq.time_out_next(1, delivered=True)  # timed out, delivered: still reported
        assert (await bot_end.call(BOT, "send_group_msg", group_id=GROUP,
                                   message=text("迟到")))["status"] == "failed"
        assert (await bot_end.event())["message"] == text("迟到")
        qq.time_out_next(1, delivered=False)
        await bot_end.call(BOT, "send_group_msg", group_id=GROUP, message=text("丢了"))
        await bot_end.no_event()
    bot_end.sockets.clear()
    async with connected(bot_end, "lagrange", branch_world(), report_self=True):
        await bot_end.call(BOT, "send_group_msg", group_id=GROUP, message=text("hi"))
        await bot_end.no_event()  # Lagrange never reports its own messages


async def test_temp_session_events_per_profile(bot_end):
    shapes = {}
    for profile in REAL:
        world = branch_world()
        world.unfriend(CAROL)
        async with connected(bot_end, profile, world) as qq:
            await qq.private_message(CAROL, "/签到 1234", group_id=GROUP)
            shapes[profile] = await bot_end.event()
        bot_end.sockets.clear()
    for event in shapes.values():
        assert (event["message_type"], event["sub_type"], event["user_id"]) == (
            "private", "group", CAROL)
    assert shapes["napcat"]["group_id"] == GROUP and shapes["napcat"]["temp_source"] == 0
    assert "group_id" not in shapes["llonebot"]
    assert shapes["llonebot"]["sender"]["group_id"] == GROUP
    assert "group_id" not in shapes["lagrange"] and "temp_source" not in shapes["lagrange"]
    assert "group_id" not in shapes["lagrange"]["sender"]


# -- friends -----------------------------------------------------------------------------------


async def test_friend_requests(bot_end):
    for profile in REAL:
        world = branch_world()
        async with connected(bot_end, profile, world) as qq:
            flag = await qq.friend_request(STRANGER, "我是支部成员")
            if profile == "lagrange":  # a friend_add notice first, before any approval
                early = await bot_end.event()
                assert (early["notice_type"], early["user_id"]) == ("friend_add", STRANGER)
            request = await bot_end.event()
            assert (request["request_type"], request["user_id"], request["comment"],
                    request["flag"]) == ("friend", STRANGER, "我是支部成员", flag)
            assert not world.is_friend(BOT, STRANGER)
            if profile == "napcat":
                assert flag.isdigit()  # reqTime
            elif profile == "llonebot":
                assert flag == f"{world.uid(STRANGER)}|{request['time']}"
            else:
                assert flag == world.uid(STRANGER)
            answer = await bot_end.call(BOT, "set_friend_add_request", flag=flag, approve=True)
            assert answer["status"] == "ok" and answer["retcode"] == 0
            if profile == "napcat":
                assert "data" not in answer  # a void action
            else:
                assert answer["data"] is None
            assert world.is_friend(BOT, STRANGER)
            if profile != "lagrange":  # the gray tip after the friendship exists
                added = await bot_end.event()
                assert (added["notice_type"], added["user_id"]) == ("friend_add", STRANGER)
            await bot_end.no_event(BOT, 0.2)
        bot_end.sockets.clear()


async def test_unknown_friend_request_flags():
    assert call(account("napcat"), "set_friend_add_request", flag="1")["message"] == (
        "No such request")
    assert call(account("llonebot"), "set_friend_add_request", flag="1")["message"] == "无效的flag"
    assert call(account("lagrange"), "set_friend_add_request", flag="u_x") == {
        "status": "ok", "retcode": 1, "data": None, "echo": "7"}


async def test_friend_lists_per_profile():
    world = branch_world()
    world.unfriend(BOB, BOT)
    keys = {
        "napcat": {"user_id", "nickname", "remark", "sex", "age", "birthday_year",
                   "birthday_month", "birthday_day", "phone_num", "email", "category_id",
                   "level"},
        "llonebot": {"user_id", "nickname", "remark", "sex", "birthday_year", "birthday_month",
                     "birthday_day", "age", "qid", "long_nick"},
        "lagrange": {"user_id", "q_id", "nickname", "remark", "group"},
    }
    for profile, fields in keys.items():
        friends = call(account(profile, world), "get_friend_list")["data"]
        assert [f["user_id"] for f in friends] == [ALICE], profile
        assert set(friends[0]) == fields
    world.befriend(BOB, BOT)
    assert world.friends_of(BOT) == [ALICE, BOB]
    world.unfriend(ALICE)  # no account's friend
    assert not world.is_friend(BOT2, ALICE)


# -- files -------------------------------------------------------------------------------------


@pytest.fixture
def report(tmp_path):
    path = tmp_path / "报告.xlsx"
    path.write_bytes(b"PK\x03\x04 fake workbook")
    return path


async def test_upload_group_file_forms(report):
    encoded = "base64://" + base64.b64encode(report.read_bytes()).decode()
    for profile in ("napcat", "llonebot"):
        qq = account(profile)
        answer = call(qq, "upload_group_file", group_id=GROUP, file=encoded, name="报告.xlsx")
        assert answer["status"] == "ok" and answer["data"]["file_id"]
        assert call(qq, "upload_group_file", group_id=GROUP, file=str(report),
                    name="报告.xlsx")["status"] == "ok"
        assert [f.name for f in qq.world.group(GROUP).files] == ["报告.xlsx"] * 2
        assert qq.world.group(GROUP).files[0].data == report.read_bytes()
    lagrange = account("lagrange")  # a local path only; success has data null
    assert call(lagrange, "upload_group_file", group_id=GROUP, file=encoded, name="r.xlsx") == {
        "status": "failed", "retcode": 200, "data": None, "echo": "7"}
    big = "base64://" + base64.b64encode(bytes(4000)).decode()  # too long for a file name
    assert call(lagrange, "upload_group_file", group_id=GROUP, file=big,
                name="r.xlsx")["retcode"] == 200
    assert not lagrange.errors
    assert call(lagrange, "upload_group_file", group_id=GROUP, file=report.as_uri(),
                name="r.xlsx")["retcode"] == 200  # file:// is read as a relative path
    assert call(lagrange, "upload_group_file", group_id=GROUP, file=str(report),
                name="r.xlsx") == {"status": "ok", "retcode": 0, "data": None, "echo": "7"}
    assert lagrange.world.group_texts(GROUP) == ["[文件]r.xlsx"]


async def test_upload_errors(report):
    napcat = account("napcat")
    no_name = call(napcat, "upload_group_file", group_id=GROUP, file=str(report))
    assert no_name["retcode"] == 1400  # `name` is required by NapCat's schema
    bad = call(napcat, "upload_group_file", group_id=GROUP, file="C:/x.xlsx", name="x.xlsx")
    assert (bad["retcode"], bad["message"]) == (1200, "识别URL失败, uri= C:/x.xlsx")
    empty = call(napcat, "upload_group_file", group_id=GROUP, file="base64://", name="x")
    assert empty["message"] == "文件异常，大小为0"
    llonebot = account("llonebot")
    assert call(llonebot, "upload_group_file", group_id=GROUP, file="C:/x.xlsx",
                name="x")["message"] == "未知文件类型或路径不存在"
    assert call(llonebot, "upload_group_file", group_id=GROUP, file=str(report),
                name="a/b.xlsx")["message"] == "文件名 a/b.xlsx 不合法"
    # the QQ side on another machine: the bot's paths mean nothing there
    elsewhere = QQWorld(shares_filesystem=False)
    for profile in REAL:
        answer = call(account(profile, elsewhere), "upload_group_file", group_id=GROUP,
                      file=str(report), name="r.xlsx")
        assert answer["status"] == "failed", profile
    # the transfer itself fails: Lagrange puts the error text in `status` (#791)
    assert call(account("lagrange", upload_fails=True), "upload_group_file", group_id=GROUP,
                file=str(report), name="r") == {
        "status": "Highway Failed", "retcode": -91001, "data": None, "echo": "7"}
    failed = call(account("napcat", upload_fails=True), "upload_group_file", group_id=GROUP,
                  file=str(report), name="r")
    assert '"errMsg": "rich media transfer failed"' in failed["message"]


async def test_upload_private_file(report):
    encoded = "base64://" + base64.b64encode(b"roster").decode()
    napcat = account("napcat")
    assert call(napcat, "upload_private_file", user_id=ALICE, file=encoded,
                name="名册.xlsx")["status"] == "ok"
    assert napcat.world.private_texts(ALICE) == ["[文件]名册.xlsx"]
    napcat.world.unfriend(STRANGER)
    assert call(napcat, "upload_private_file", user_id=STRANGER, file=encoded,
                name="x")["message"] == f"私聊{STRANGER}不存在"
    lagrange = account("lagrange")
    assert call(lagrange, "upload_private_file", user_id=ALICE, file=encoded,
                name="x")["retcode"] == 200  # base64 never works on v1 (#840 closed)
    assert call(lagrange, "upload_private_file", user_id=ALICE, file=str(report),
                name="x")["data"] is None


async def test_group_root_files_and_downloads():
    world = branch_world()
    for i in range(60):
        world.upload_group_file(GROUP, f"名册{i:02d}.xlsx", f"data{i}".encode(), ALICE)
    world.group(GROUP).files[-1].upload_time += 10  # the newest
    napcat = account("napcat", world)
    listing = call(napcat, "get_group_root_files", group_id=GROUP)["data"]
    assert len(listing["files"]) == 50 and listing["folders"] == []  # file_count default 50
    assert listing["files"][0]["file_name"] == "名册59.xlsx"
    assert len(call(napcat, "get_group_root_files", group_id=GROUP,
                    file_count=100)["data"]["files"]) == 60
    key = listing["files"][0]["file_id"]
    assert len(key) == 32 and not key.startswith("/")  # an in-memory key, not QQ's id
    no_backend = call(napcat, "get_group_file_url", group_id=GROUP, file_id=key)
    assert no_backend["retcode"] == 1400 and no_backend["message"].startswith(
        "packetBackend不可用，请参照文档 https://napneko.github.io/config/advanced")
    napcat.account.packet_backend = True
    url = call(napcat, "get_group_file_url", group_id=GROUP, file_id=key)["data"]["url"]
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read() == b"data59"
    assert call(napcat, "get_group_file_url", group_id=GROUP,
                file_id="nope")["message"] == "real fileUUID not found!"
    got = call(napcat, "get_file", file_id=key)["data"]
    assert (got["file_size"], got["file_name"], got["file"] == got["url"]) == ("", "", True)
    assert "base64" not in got and Path(got["file"]).read_bytes() == b"data59"
    napcat.account.local_file2url = True
    assert base64.b64decode(call(napcat, "get_file", file_id=key)["data"]["base64"]) == b"data59"
    assert call(napcat, "get_file", file_id="nope")["message"] == "file not found"

    llonebot = account("llonebot", world)
    files = call(llonebot, "get_group_root_files", group_id=GROUP)["data"]["files"]
    assert len(files) == 60 and files[0]["file_id"].startswith("/")  # all, raw QQ ids
    url = call(llonebot, "get_group_file_url", group_id=GROUP,
               file_id=files[0]["file_id"])["data"]["url"]
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read() == b"data0"
    assert call(llonebot, "get_file", file_id=files[0]["file_id"])["message"] == "file not found"

    lagrange = account("lagrange", world)
    files = call(lagrange, "get_group_root_files", group_id=GROUP)["data"]["files"]
    assert len(files) == 60 and {f["busid"] for f in files} == {0}
    assert call(lagrange, "get_file", file_id=files[0]["file_id"])["retcode"] == 404
    world.close()


async def test_get_file_path_is_useless_without_a_shared_disk():
    world = branch_world(shares_filesystem=False)
    world.upload_group_file(GROUP, "名册.xlsx", b"x", ALICE)
    napcat = account("napcat", world)
    key = call(napcat, "get_group_root_files", group_id=GROUP)["data"]["files"][0]["file_id"]
    path = call(napcat, "get_file", file_id=key)["data"]["file"]
    assert path.startswith("/app/") and not os.path.exists(path)


# -- history -----------------------------------------------------------------------------------


async def test_group_history_per_profile(bot_end):
    for profile in REAL:
        world = branch_world()
        async with connected(bot_end, profile, world) as qq:
            empty = call(qq, "get_group_msg_history", group_id=GROUP)
            await qq.group_message(GROUP, ALICE, "/许愿 借伞")
            await bot_end.event()
            sent = send_group(qq, message="心愿 #1 已发布")
            history = call(qq, "get_group_msg_history", group_id=GROUP, count=20)
        bot_end.sockets.clear()
        messages = history["data"]["messages"]
        assert [m["message"][0]["data"]["text"] for m in messages] == [
            "/许愿 借伞", "心愿 #1 已发布"]
        mine = messages[-1]
        assert mine["user_id"] == BOT and mine["message_id"] == sent["data"]["message_id"]
        if profile == "lagrange":
            assert mine["post_type"] == "message"
            assert empty == {"status": "failed", "retcode": 200, "data": None, "echo": "7"}
        else:
            assert mine["post_type"] == "message_sent"
        if profile == "napcat":
            assert mine["message_sent_type"] == "self"
            assert (empty["retcode"], empty["message"]) == (1200, "消息undefined不存在")
        if profile == "llonebot":
            assert empty["status"] == "ok" and empty["data"] == {"messages": []}


async def test_history_anchors_and_order():
    world = branch_world()
    napcat, llonebot, lagrange = (account(p, world, self_id=i)
                                  for p, i in zip(REAL, (BOT, BOT2, BOT3), strict=True))
    world.group(GROUP, accounts=[BOT2, BOT3])
    ids = {p: [] for p in REAL}
    for n in range(5):
        for profile, qq in zip(REAL, (napcat, llonebot, lagrange), strict=True):
            ids[profile].append(send_group(qq, message=f"{profile}{n}")["data"]["message_id"])
    # NapCat: message_seq is its own short message_id; count; reverse_order
    page = call(napcat, "get_group_msg_history", group_id=GROUP,
                message_seq=ids["napcat"][2], count=2)["data"]["messages"]
    assert [render(m["message"]) for m in page] == ["lagrange1", "napcat2"]
    assert page[-1]["message_id"] == ids["napcat"][2]
    latest = call(napcat, "get_group_msg_history", group_id=GROUP, count=3,
                  reverse_order=True)["data"]["messages"]
    assert [render(m["message"]) for m in latest] == ["lagrange4", "llonebot4", "napcat4"]
    assert call(napcat, "get_group_msg_history", group_id=GROUP,
                message_seq=123)["message"] == "消息123不存在"
    # LLOneBot: message_seq is QQ's real seq; reverseOrder (camelCase only)
    seq = world.group_messages(GROUP)[3].seq
    page = call(llonebot, "get_group_msg_history", group_id=GROUP, message_seq=seq, count=2,
                reverseOrder=True)["data"]["messages"]
    assert [render(m["message"]) for m in page] == ["napcat1", "lagrange0"]
    # Lagrange: message_id (its own); no reverse flag; only its local database, which holds
    # what it sent or received while connected (nothing was connected here: its own only)
    page = call(lagrange, "get_group_msg_history", group_id=GROUP,
                message_id=ids["lagrange"][1], count=2)["data"]["messages"]
    assert [render(m["message"]) for m in page] == ["lagrange0", "lagrange1"]


async def test_lagrange_history_fails_when_a_sender_has_left():
    world = branch_world()
    qq = account("lagrange", world)
    world.post_in_group(None, GROUP, ALICE, text("hi"), int(time.time())).seen_by.add(BOT)
    assert call(qq, "get_group_msg_history", group_id=GROUP)["status"] == "ok"
    world.remove_member(GROUP, ALICE)
    assert call(qq, "get_group_msg_history", group_id=GROUP)["retcode"] == 200


# -- groups, members, version, recall ----------------------------------------------------------


async def test_version_info_per_profile():
    assert call(account("napcat"), "get_version_info")["data"] == {
        "app_name": "NapCat.Onebot", "protocol_version": "v11", "app_version": "4.9.80"}
    assert call(account("llonebot"), "get_version_info")["data"] == {
        "app_name": "LLOneBot", "protocol_version": "v11", "app_version": "7.0.1"}
    assert call(account("lagrange"), "get_version_info")["data"] == {
        "app_name": "Lagrange.OneBot", "app_version": "0.0.3", "protocol_version": "v11",
        "nt_protocol": "Linux | 3.2.10-25765"}


async def test_groups_and_members_per_profile():
    world = branch_world()
    world.set_role(GROUP, ALICE, "owner")
    napcat, llonebot, lagrange = (account(p, world) for p in REAL)
    assert set(call(napcat, "get_group_list")["data"][0]) == {
        "group_all_shut", "group_remark", "group_id", "group_name", "member_count",
        "max_member_count"}
    assert "group_memo" in call(llonebot, "get_group_list")["data"][0]
    assert set(call(lagrange, "get_group_list")["data"][0]) == {
        "group_id", "group_name", "member_count", "max_member_count"}
    assert call(napcat, "get_group_info", group_id=GROUP)["data"]["member_count"] == 3
    info = call(napcat, "get_group_member_info", group_id=GROUP, user_id=ALICE)["data"]
    assert (info["role"], info["level"]) == ("owner", "1")
    assert call(napcat, "get_group_member_info", group_id=GROUP,
                user_id=BOT)["data"]["role"] == "member"
    assert "card_or_nickname" in call(llonebot, "get_group_member_info", group_id=GROUP,
                                      user_id=ALICE)["data"]
    world.unfriend(STRANGER)
    assert call(napcat, "get_group_member_info", group_id=GROUP,
                user_id=STRANGER)["message"] == f"Uin2Uid Error: 用户ID {STRANGER} 不存在"
    world.add_member(OTHER_GROUP, CAROL)
    assert call(napcat, "get_group_member_info", group_id=GROUP,
                user_id=CAROL)["message"] == f"群({GROUP})成员{CAROL}不存在"
    assert call(llonebot, "get_group_member_info", group_id=GROUP,
                user_id=CAROL)["message"] == "无法获取用户信息"
    for action in ("get_group_member_info", "get_group_info"):
        assert call(lagrange, action, group_id=99, user_id=CAROL) == {
            "status": "failed", "retcode": -1, "data": None, "echo": "7"}


async def test_recall():
    qq = account("napcat")
    message_id = send_group(qq, message="签到码 1234")["data"]["message_id"]
    answer = call(qq, "delete_msg", message_id=message_id)
    assert answer["status"] == "ok" and "data" not in answer
    assert qq.world.group_texts(GROUP) == []
    assert call(account("lagrange"), "delete_msg", message_id=1)["status"] == "ok"  # #874


async def test_message_ids_per_profile():
    world = branch_world()
    world.group(GROUP, accounts=[BOT2, BOT3])
    ids = {p: [send_group(account(p, world, self_id=i), message="x")["data"]["message_id"]
               for _ in range(40)]
           for p, i in zip(REAL, (BOT, BOT2, BOT3), strict=True)}
    assert all(0 < i < 2**31 for i in ids["napcat"])  # a positive int32
    assert all(-(2**31) <= i < 2**31 for p in ("llonebot", "lagrange") for i in ids[p])
    assert any(i < 0 for p in ("llonebot", "lagrange") for i in ids[p])  # may be negative
    assert all(len(set(v)) == len(v) for v in ids.values())
