"""The bot's handlers, offline: real Application, fake updates, the Bot API stand-in checking
every message (HTML validity, length) as Telegram would."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from assistant.answering.models import Answer
from bots.telegram.access import session_id
from tests.bots.botapi_standin import TOKEN, Call, check_html, utf16_len
from tests.bots.conftest import (
    GROUP_ID,
    INTERNAL_QUESTION,
    MARKER,
    PUBLIC_QUESTION,
    RUSSIAN_VISITOR,
    STAFF,
    STAFF_ID,
    VISITOR,
    VISITOR_ID,
    BotFactory,
    OfflineBot,
)


def only_text(calls: list[Call]) -> str:
    assert len(calls) == 1, [c.result["text"] for c in calls]
    return str(calls[0].result["text"])


async def test_a_visitor_question_is_answered_with_footnotes_while_typing(bot: OfflineBot):
    calls = await bot.send(VISITOR, PUBLIC_QUESTION)
    reply = calls[0]
    assert reply.params["parse_mode"] == "HTML"
    text = only_text(calls)
    assert "Skolkovo" in text and "[1]" in text
    sources = text.split("Sources\n", 1)[1]
    assert sources.startswith("[1] ")
    methods = [call.method for call in bot.standin.calls if call.method != "getMe"]
    assert methods == ["sendChatAction", "sendMessage"]
    assert bot.standin.calls_of("sendChatAction")[0].params["action"] == "typing"
    assert json.loads(reply.params["link_preview_options"]) == {"is_disabled": True}


async def test_footnotes_link_to_the_source_viewer_only_with_a_public_url(make_bot: BotFactory):
    linked = await make_bot(public_url="https://coop.example.org/")
    html_text = (await linked.send(VISITOR, PUBLIC_QUESTION))[0].params["text"]
    assert '<a href="https://coop.example.org/sources/' in html_text
    assert "&amp;end=" in html_text  # the query string is escaped inside the attribute
    plain = await make_bot()
    assert "<a " not in (await plain.send(VISITOR, PUBLIC_QUESTION))[0].params["text"]


async def test_staff_see_internal_documents_and_visitors_never_do(bot: OfflineBot):
    staff = only_text(await bot.send(STAFF, INTERNAL_QUESTION))
    assert MARKER in staff and "2026" in staff
    visitor = only_text(await bot.send(VISITOR, INTERNAL_QUESTION))
    assert MARKER not in visitor.replace(INTERNAL_QUESTION, "")
    assert "olga@example.org" not in visitor
    assert visitor.startswith("ℹ️ Not in the documents")


async def test_markup_in_documents_is_escaped_not_interpreted(bot: OfflineBot):
    calls = await bot.send(VISITOR, "Who does the Wombat Institute cooperate with in Quokkaville?")
    html_text, visible = calls[0].params["text"], calls[0].result["text"]
    assert "<script>" not in html_text and "<b>partners" not in html_text
    assert "<script>alert('owned')</script>" in visible or "<b>partners</b>" in visible


async def test_in_groups_the_bot_answers_only_when_addressed_and_as_a_visitor(bot: OfflineBot):
    assert await bot.send(STAFF, INTERNAL_QUESTION, group_id=GROUP_ID) == []
    assert await bot.send(STAFF, "/help", group_id=GROUP_ID) == []
    assert bot.standin.calls_of("sendChatAction") == []
    calls = await bot.send(STAFF, f"@coop_test_bot {INTERNAL_QUESTION}", group_id=GROUP_ID)
    text = only_text(calls)
    assert MARKER not in text.replace(INTERNAL_QUESTION, "")  # staff, but in a group
    asked = calls[0].result["message_id"] - 1  # ids are sequential: the mention came just before
    assert json.loads(calls[0].params["reply_parameters"])["message_id"] == asked
    follow = await bot.send(VISITOR, PUBLIC_QUESTION, group_id=GROUP_ID, reply_to=calls[0].result)
    assert "Skolkovo" in only_text(follow)
    helped = await bot.send(VISITOR, "/help@coop_test_bot", group_id=GROUP_ID)
    assert "/agreements" in only_text(helped) and "/subscribe" not in only_text(helped)
    assert await bot.send(VISITOR, "/help@some_other_bot", group_id=GROUP_ID) == []


async def test_a_mention_alone_asks_for_the_question(bot: OfflineBot):
    text = only_text(await bot.send(VISITOR, "@coop_test_bot", group_id=GROUP_ID))
    assert "write your question" in text


async def test_follow_ups_keep_the_context_of_their_own_chat(bot: OfflineBot):
    await bot.send(VISITOR, PUBLIC_QUESTION)
    await bot.send(VISITOR, "Who signed it?")
    assistant = bot.services.assistant
    own = assistant.last_query(session_id(VISITOR_ID, TOKEN), "public")
    assert own is not None and "Skolkovo" in own
    await bot.send(STAFF, "Who signed it?")
    other = assistant.last_query(session_id(STAFF_ID, TOKEN), "staff")
    assert other is not None and "Skolkovo" not in other


async def test_agreements_by_period_and_audience(bot: OfflineBot):
    staff = only_text(await bot.send(STAFF, "/agreements this-year"))
    assert staff.startswith("Agreements ending this year (as of 2026-11-25): 3")
    assert "in 20 days" in staff and MARKER in staff and "Sources\n[1]" in staff
    visitor = only_text(await bot.send(VISITOR, "/agreements 60d"))
    assert "Agreements ending in the next 60 days" in visitor and MARKER not in visitor
    usage = only_text(await bot.send(VISITOR, "/agreements soon"))
    assert usage.startswith("Usage: /agreements")
    everything = only_text(await bot.send(STAFF, "/agreements"))
    assert "no known end date" in everything


async def test_contacts_need_a_query_and_cite_their_source(bot: OfflineBot):
    found = only_text(await bot.send(VISITOR, "/contacts Konovalchuk"))
    assert "+7 (909) 641-42-09" in found and "[1]" in found and "Sources" in found
    assert only_text(await bot.send(VISITOR, "/contacts")).startswith("Usage: /contacts")
    none = only_text(await bot.send(VISITOR, "/contacts Nobodyknows"))
    assert "No contacts found" in none


async def test_reminder_commands_are_for_staff_only(bot: OfflineBot):
    for command in ("/subscribe", "/unsubscribe"):
        refused = only_text(await bot.send(VISITOR, command))
        assert "staff only" in refused
    assert bot.services.store.subscribers() == []
    group = only_text(await bot.send(STAFF, "/subscribe@coop_test_bot", group_id=GROUP_ID))
    assert "staff only" in group  # never in a group


async def test_subscribing_sends_what_is_due_once(bot: OfflineBot):
    calls = await bot.send(STAFF, "/subscribe")
    assert len(calls) == 2
    assert calls[0].result["text"].startswith("🔔 Subscribed")
    reminder = calls[1].result["text"]
    assert reminder.startswith("⏰ Agreements expiring soon (as of 2026-11-25)")
    assert MARKER in reminder and "(within 30 days)" in reminder
    assert "(within 90 days)" in reminder  # the one ending on 31 December
    again = only_text(await bot.send(STAFF, "/subscribe"))
    assert "already subscribed" in again
    assert "Reminders are off" in only_text(await bot.send(STAFF, "/unsubscribe"))
    assert "not subscribed" in only_text(await bot.send(STAFF, "/unsubscribe"))
    resubscribed = await bot.send(STAFF, "/subscribe")
    assert len(resubscribed) == 1  # everything due was already sent


async def test_lang_switches_the_interface_and_telegram_language_is_the_default(bot: OfflineBot):
    assert "Команды" in only_text(await bot.send(RUSSIAN_VISITOR, "/help"))
    assert "Commands" in only_text(await bot.send(VISITOR, "/help"))
    assert only_text(await bot.send(VISITOR, "/lang ru")) == "Язык: русский."
    assert "Команды" in only_text(await bot.send(VISITOR, "/help"))
    assert "Использование" in only_text(await bot.send(VISITOR, "/lang de"))
    assert only_text(await bot.send(VISITOR, "/lang en")) == "Language: English."
    assert "Commands" in only_text(await bot.send(VISITOR, "/help"))


async def test_start_describes_the_bot_by_audience(bot: OfflineBot):
    visitor = only_text(await bot.send(VISITOR, "/start"))
    assert "/agreements" in visitor and "/subscribe" not in visitor
    staff = only_text(await bot.send(STAFF, "/start"))
    assert "/subscribe" in staff and "staff" in staff


async def test_unknown_commands_point_to_help(bot: OfflineBot):
    assert "see /help" in only_text(await bot.send(VISITOR, "/frobnicate"))


async def test_a_bot_closed_to_visitors_refuses_them_politely(make_bot: BotFactory):
    bot = await make_bot(allow_visitors=False)
    refused = only_text(await bot.send(VISITOR, PUBLIC_QUESTION))
    assert "staff only" in refused
    assert bot.standin.calls_of("sendChatAction") == []
    assert "Skolkovo" in only_text(await bot.send(STAFF, PUBLIC_QUESTION))


async def test_a_failure_is_logged_in_full_and_told_briefly(
    bot: OfflineBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    def broken(*args: Any, **kwargs: Any) -> Answer:
        raise RuntimeError("the index is on fire")

    monkeypatch.setattr(bot.services.assistant, "ask", broken)
    with caplog.at_level(logging.ERROR, logger="bots.telegram.handlers"):
        text = only_text(await bot.send(VISITOR, PUBLIC_QUESTION))
    assert text == "Something went wrong; please try again."
    record = next(r for r in caplog.records if r.name == "bots.telegram.handlers")
    assert record.exc_info is not None and "the index is on fire" in str(record.exc_info[1])


async def test_long_answers_are_split_into_valid_messages(
    bot: OfflineBot, monkeypatch: pytest.MonkeyPatch
):
    paragraph = "Partners & <friends> " * 60  # 1,260 characters, markup-like text
    answer = Answer(
        answer="\n\n".join(f"{i}. {paragraph}[1]" for i in range(12)),
        citations=[],
        found=True,
        mode="extractive",
        language="en",
    )
    monkeypatch.setattr(bot.services.assistant, "ask", lambda *a, **k: answer)
    calls = await bot.send(VISITOR, PUBLIC_QUESTION)
    assert len(calls) >= 4
    for call in calls:
        visible = check_html(call.params["text"])
        assert utf16_len(visible) <= 4096
        assert visible.strip()[0].isdigit()  # each message starts at a paragraph
    joined = "\n\n".join(call.result["text"] for call in calls)
    assert joined == answer.answer.strip()


async def test_a_429_is_retried_by_the_rate_limiter(bot: OfflineBot):
    bot.standin.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 1", parameters={"retry_after": 1}
    )
    calls = await bot.send(VISITOR, "/help")
    assert len(calls) == 1
    attempts = bot.standin.calls_of("sendMessage")
    assert [call.status for call in attempts] == [429, 200]


async def test_post_init_registers_the_menu_in_both_languages_and_the_jobs(bot: OfflineBot):
    application = bot.application
    assert application.post_init is not None
    await application.post_init(application)
    english = {c["command"]: c["description"] for c in bot.standin.commands[""]}
    russian = {c["command"]: c["description"] for c in bot.standin.commands["ru"]}
    assert set(english) == set(russian) == {
        "start", "help", "agreements", "contacts", "subscribe", "unsubscribe", "lang",
    }  # fmt: skip
    assert english["help"] != russian["help"]
    assert application.job_queue is not None
    names = sorted(job.name or "" for job in application.job_queue.jobs())
    assert names == ["expiry-reminders", "expiry-reminders-catch-up"]
