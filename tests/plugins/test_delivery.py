"""What a person who is not the bot's friend is told, and what they are never given."""

from tests.fakes import SELF_ID, Says, converse, group_message, private_message, temp_message
from tests.plugins.conftest import HELPER, SECRETARY, WISHER


async def test_a_secret_command_in_a_temporary_session_gets_the_hint_not_the_secret(
        app, branch, services):
    await converse(
        app,
        (temp_message(SECRETARY, "/支部 备份"),
         Says("只能私聊发给好友", f"QQ {SELF_ID}", "/支部 备份", absent=("已备份", ".db"))),
        (temp_message(SECRETARY, "/导学 签到码 #1"),
         Says("只能私聊发给好友", "/导学 签到码", absent=("签到码：",))),
    )


async def test_a_temporary_session_gets_what_is_not_secret_and_the_hint_once(app, branch):
    await converse(
        app,
        (temp_message(WISHER, "/帮助"), Says("功能菜单", "私密消息只发给好友",
                                            f"请加我（QQ {SELF_ID}）为好友")),
        (temp_message(WISHER, "/帮助"), Says("功能菜单", absent=("为好友",))),
    )


async def test_someone_a_private_message_missed_is_told_once_on_their_next_command(
        app, branch, services):
    async with services.db.transaction():
        await services.outbox.add_hint(HELPER, "checkin_code")
    await converse(
        app,
        (group_message(HELPER, "/积分"), Says("积分", f"请加我（QQ {SELF_ID}）为好友")),
        (group_message(HELPER, "/积分"), Says("积分", absent=("为好友",))),
        (private_message(HELPER, "/帮助"), Says("功能菜单", absent=("为好友",))),
    )
