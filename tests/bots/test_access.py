"""Who is staff, which chat continues which conversation, what a group message asks."""

from __future__ import annotations

import re
from pathlib import Path

from telegram import Bot, Message

from bots.telegram.access import audience_for, chosen_language, session_id, strip_mention
from tests.bots.botapi_standin import BotApiStandIn, message_update, user
from tests.bots.conftest import bot_settings

SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def test_staff_only_in_private_chats_of_allowlisted_users(tmp_path: Path):
    settings = bot_settings(tmp_path, staff_ids=[7])
    assert audience_for(settings, 7, private=True) == "staff"
    assert audience_for(settings, 7, private=False) == "public"
    assert audience_for(settings, 8, private=True) == "public"


def test_session_ids_are_valid_distinct_and_unguessable():
    chats = [1, -1, 123456789, -123456789, -1001234567890, 1001234567890]
    ids = [session_id(chat, "123:TEST") for chat in chats]
    assert all(SESSION_ID.match(i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert session_id(1, "123:TEST") == session_id(1, "123:TEST")
    assert session_id(1, "other-token") != session_id(1, "123:TEST")
    assert not any(str(abs(chat)) in i for chat, i in zip(chats[2:], ids[2:], strict=True))


def test_mentions_are_removed_from_the_question():
    assert strip_mention("@Coop_Test_Bot  who are our partners?", "coop_test_bot") == (
        "who are our partners?"
    )
    assert strip_mention("partners in Cuba, @coop_test_bot?", "coop_test_bot") == (
        "partners in Cuba, ?"
    )
    assert strip_mention("@coop_test_botany is a word", "coop_test_bot") == (
        "@coop_test_botany is a word"
    )


def test_language_is_the_chat_choice_else_telegrams():
    assert chosen_language("en", "ru") == "en"
    assert chosen_language(None, "ru-RU") == "ru"
    assert chosen_language(None, "uk") == "en"
    assert chosen_language(None, None) == "en"


def test_the_fake_updates_carry_the_entities_telegram_would_send():
    standin = BotApiStandIn()
    update = message_update(standin, user(1, "A"), "/help@coop_test_bot now @someone_else")
    message = Message.de_json(update["message"], Bot("123:TEST"))
    assert message is not None
    kinds = [(entity.type, message.parse_entity(entity)) for entity in message.entities]
    assert kinds == [("bot_command", "/help@coop_test_bot"), ("mention", "@someone_else")]
