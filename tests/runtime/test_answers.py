"""OneBot answers judged by their body, as the real QQ sides shape them (README, "QQ sides")."""

import pytest
from nonebot.adapters.onebot.v11 import ActionFailed

from runtime.answers import judged


def test_a_success_gives_its_data_even_without_a_data_key():
    assert judged({"status": "ok", "retcode": 0, "data": {"message_id": 7}}) == {"message_id": 7}
    # NapCat leaves `data` out of void answers (OneBotAction.ts)
    assert judged({"status": "ok", "retcode": 0, "message": "", "echo": "3"}) is None


@pytest.mark.parametrize("answer", [
    # Lagrange v1: a failed upload says so in `status`, with data null (UploadGroupFile…cs)
    {"status": "(GroupFSUploadEvent) Highway Failed", "retcode": -91001, "data": None},
    # Lagrange v1: a failed friend approval is status ok with retcode 1
    {"status": "ok", "retcode": 1, "data": None},
    # NapCat / LLOneBot: the usual shape
    {"status": "failed", "retcode": 1200, "data": None, "message": "当前处于被禁言状态"},
])
def test_anything_but_ok_with_retcode_0_is_a_failure(answer):
    with pytest.raises(ActionFailed) as raised:
        judged(answer)
    assert raised.value.info["retcode"] == answer["retcode"]
