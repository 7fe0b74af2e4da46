"""One small handler per action. Blocking work (the assistant, SQLite) runs in worker threads
while the chat shows "typing…"."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from assistant.knowledge.listing import agreement_rows, contact_rows
from assistant.knowledge.periods import parse_option
from bots.telegram.access import (
    Caller,
    addressed_text,
    audience_for,
    chosen_language,
    command_addressed,
    is_private,
    session_id,
)
from bots.telegram.reminders import send_reminders
from bots.telegram.rendering import render_agreements, render_answer, render_contacts
from bots.telegram.sending import send_html, typing_action
from bots.telegram.services import deps
from bots.telegram.texts import Lang, commands_list, text

logger = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE


async def _language(update: Update, context: Context) -> Lang:
    stored = None
    if update.effective_chat is not None:
        store = deps(context).services.store
        stored = await asyncio.to_thread(store.language, update.effective_chat.id)
    user = update.effective_user
    return chosen_language(stored, user.language_code if user else None)


async def _caller(update: Update, context: Context, *, addressed: bool) -> Caller | None:
    """Who is asking, or None when the bot should stay silent (a group message not meant for
    it) or has refused (visitors when the bot is closed to them)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or update.effective_chat is None or not addressed:
        return None
    settings = deps(context).settings
    private = is_private(update)
    caller = Caller(
        chat_id=update.effective_chat.id,
        user_id=user.id,
        private=private,
        audience=audience_for(settings, user.id, private),
        message_id=message.message_id,
    )
    if caller.audience == "public" and not settings.telegram.allow_visitors:
        lang = await _language(update, context)
        refusal = text("visitors_closed", lang)
        await send_html(context.bot, caller.chat_id, refusal, reply_to=caller.reply_to)
        return None
    return caller


async def _command_caller(update: Update, context: Context) -> Caller | None:
    message = update.effective_message
    addressed = is_private(update) or (
        message is not None and command_addressed(message, context.bot.id, context.bot.username)
    )
    return await _caller(update, context, addressed=addressed)


async def _reply(context: Context, caller: Caller, html_text: str) -> None:
    await send_html(context.bot, caller.chat_id, html_text, reply_to=caller.reply_to)


async def start(update: Update, context: Context) -> None:
    """/start: what the bot can do, in the user's language."""
    caller = await _command_caller(update, context)
    if caller is None:
        return
    lang = await _language(update, context)
    staff = caller.audience == "staff"
    body = text("start", lang, commands=commands_list(lang, staff=staff))
    if staff:
        body += "\n\n" + text("staff_note", lang)
    await _reply(context, caller, body)


async def help_command(update: Update, context: Context) -> None:
    """/help: the commands and how to ask."""
    caller = await _command_caller(update, context)
    if caller is None:
        return
    lang = await _language(update, context)
    staff = caller.audience == "staff"
    await _reply(context, caller, text("help", lang, commands=commands_list(lang, staff=staff)))


async def lang_command(update: Update, context: Context) -> None:
    """/lang ru|en: the chat's language for the bot's own texts."""
    caller = await _command_caller(update, context)
    if caller is None:
        return
    args = [arg.lower() for arg in context.args or []]
    if len(args) != 1 or args[0] not in ("ru", "en"):
        await _reply(context, caller, text("lang_usage", await _language(update, context)))
        return
    lang: Lang = "ru" if args[0] == "ru" else "en"
    await asyncio.to_thread(deps(context).services.store.set_language, caller.chat_id, lang)
    await _reply(context, caller, text("lang_set", lang))


async def agreements(update: Update, context: Context) -> None:
    """/agreements [this-year|next-year|2027|60d]: agreements and when they expire."""
    caller = await _command_caller(update, context)
    if caller is None:
        return
    found = deps(context)
    lang = await _language(update, context)
    option = " ".join(context.args or []).strip()
    today = found.services.today()
    try:
        period = parse_option(option, today) if option else None
    except ValueError:
        await _reply(context, caller, text("agreements_usage", lang))
        return
    async with typing_action(context.bot, caller.chat_id):
        result = await asyncio.to_thread(
            agreement_rows, found.services.facts, caller.audience, today, period
        )
    await _reply(
        context, caller, render_agreements(result, lang, period, found.settings.public_url)
    )


async def contacts(update: Update, context: Context) -> None:
    """/contacts QUERY: contacts found in the documents."""
    caller = await _command_caller(update, context)
    if caller is None:
        return
    found = deps(context)
    lang = await _language(update, context)
    query = " ".join(context.args or []).strip()
    if not query:
        await _reply(context, caller, text("contacts_usage", lang))
        return
    async with typing_action(context.bot, caller.chat_id):
        rows = await asyncio.to_thread(contact_rows, found.services.facts, caller.audience, query)
    await _reply(context, caller, render_contacts(rows, query, lang, found.settings.public_url))


async def subscribe(update: Update, context: Context) -> None:
    """/subscribe (staff, private chat): expiry reminders; what is already due comes at once."""
    caller = await _command_caller(update, context)
    if caller is None:
        return
    found = deps(context)
    lang = await _language(update, context)
    if caller.audience != "staff":
        await _reply(context, caller, text("staff_only", lang))
        return
    store = found.services.store
    if not await asyncio.to_thread(store.subscribe, caller.chat_id, caller.user_id):
        await _reply(context, caller, text("already_subscribed", lang))
        return
    if await asyncio.to_thread(store.language, caller.chat_id) is None:
        await asyncio.to_thread(store.set_language, caller.chat_id, lang)  # for the reminders
    telegram = found.settings.telegram
    windows = ", ".join(str(days) for days in sorted(set(telegram.reminder_days), reverse=True))
    await _reply(
        context, caller, text("subscribed", lang, windows=windows, time=telegram.reminder_time)
    )
    await send_reminders(context.bot, found.settings, found.services, chat_ids=[caller.chat_id])


async def unsubscribe(update: Update, context: Context) -> None:
    """/unsubscribe (staff): no more reminders."""
    caller = await _command_caller(update, context)
    if caller is None:
        return
    lang = await _language(update, context)
    if caller.audience != "staff":
        await _reply(context, caller, text("staff_only", lang))
        return
    removed = await asyncio.to_thread(deps(context).services.store.unsubscribe, caller.chat_id)
    await _reply(context, caller, text("unsubscribed" if removed else "not_subscribed", lang))


async def unknown_command(update: Update, context: Context) -> None:
    """Any other /command meant for this bot."""
    caller = await _command_caller(update, context)
    if caller is not None:
        await _reply(context, caller, text("unknown_command", await _language(update, context)))


async def question(update: Update, context: Context) -> None:
    """Any other text is a question (in groups only when the bot is mentioned or replied to);
    follow-ups continue the chat's conversation."""
    message = update.effective_message
    if message is None or not message.text:
        return
    if is_private(update):
        asked: str | None = " ".join(message.text.split())
    else:
        asked = addressed_text(message, context.bot.id, context.bot.username)
    caller = await _caller(update, context, addressed=asked is not None)
    if caller is None or asked is None:
        return
    found = deps(context)
    if not asked:
        await _reply(context, caller, text("empty_question", await _language(update, context)))
        return
    token = found.settings.telegram.token
    session = session_id(caller.chat_id, token.get_secret_value() if token else "")
    async with typing_action(context.bot, caller.chat_id):
        answer = await asyncio.to_thread(
            found.services.assistant.ask, asked, caller.audience, session
        )
    lang = await _language(update, context)
    await _reply(context, caller, render_answer(answer, lang, found.settings.public_url))


async def on_error(update: object, context: Context) -> None:
    """Log the failure in full; tell the user briefly, in their language."""
    where = "without an update"
    if isinstance(update, Update):
        chat = update.effective_chat
        where = f"update {update.update_id} (chat {chat.id if chat else '?'})"
    logger.error("handling %s failed", where, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    user = update.effective_user
    lang = chosen_language(None, user.language_code if user else None)
    try:
        await context.bot.send_message(update.effective_chat.id, text("error", lang))
    except TelegramError as exc:
        logger.warning("could not tell chat %s about the error: %s", update.effective_chat.id, exc)
