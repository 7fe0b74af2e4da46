"""What the bot says around the answers (start, help, labels, errors), in English and Russian.

Answers themselves come in the question's language from the assistant; these texts follow the
chat's language: `/lang`, else the user's Telegram language (ru* → Russian, else English). Every
text is Telegram HTML: placeholders are filled with already-escaped values.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["ru", "en"]
LANGUAGES: tuple[Lang, ...] = ("en", "ru")

# (command, English description, Russian description) — the menu registered with setMyCommands.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("start", "What this bot can do", "Что умеет этот бот"),
    ("help", "Commands and examples", "Команды и примеры"),
    ("agreements", "Agreements: /agreements this-year | 60d | 2027", "Соглашения: /agreements 60d"),
    ("contacts", "Contacts: /contacts QUERY", "Контакты: /contacts ЗАПРОС"),
    ("subscribe", "Expiry reminders (staff)", "Напоминания об окончании (сотрудники)"),
    ("unsubscribe", "Stop expiry reminders", "Отключить напоминания"),
    ("lang", "Language: /lang ru | en", "Язык: /lang ru | en"),
)

_TEXTS: dict[str, dict[Lang, str]] = {
    "start": {
        "en": "👋 I answer questions about our international cooperation — partners, agreements "
        "and when they expire, programmes, contacts — from the institution's own documents, and "
        "I cite the documents I quote.\n\nJust write a question, for example:\n"
        "<i>Do you cooperate with Vietnam?</i>\n<i>Whom do I contact about an internship?</i>\n\n"
        "{commands}",
        "ru": "👋 Я отвечаю на вопросы о международном сотрудничестве — партнёры, соглашения и "
        "сроки их действия, программы, контакты — по документам организации и указываю "
        "источники цитат.\n\nПросто напишите вопрос, например:\n"
        "<i>Сотрудничаете ли вы с Вьетнамом?</i>\n<i>К кому обратиться по поводу стажировки?</i>"
        "\n\n{commands}",
    },
    "staff_note": {
        "en": "🔑 You are recognised as staff: I also search internal documents for you, and "
        "/subscribe sends you reminders before agreements expire.",
        "ru": "🔑 Вы — сотрудник: для вас я ищу и во внутренних документах, а /subscribe "
        "включает напоминания об истечении соглашений.",
    },
    "help": {
        "en": "<b>Commands</b>\n{commands}\n\nAny other message is a question; follow-up "
        "questions (<i>and when does it expire?</i>) keep the context of this chat. "
        "In groups, mention me or reply to my message.",
        "ru": "<b>Команды</b>\n{commands}\n\nЛюбое другое сообщение — вопрос; уточняющие вопросы "
        "(<i>а когда оно истекает?</i>) учитывают контекст этого чата. "
        "В группах упомяните меня или ответьте на моё сообщение.",
    },
    "lang_usage": {
        "en": "Usage: /lang ru or /lang en",
        "ru": "Использование: /lang ru или /lang en",
    },
    "lang_set": {"en": "Language: English.", "ru": "Язык: русский."},
    "agreements_usage": {
        "en": "Usage: /agreements [this-year | next-year | 2027 | 60d]",
        "ru": "Использование: /agreements [this-year | next-year | 2027 | 60d]",
    },
    "agreements_header": {
        "en": "<b>Agreements{period}</b> (as of {today}): {count}",
        "ru": "<b>Соглашения{period}</b> (на {today}): {count}",
    },
    "agreements_period": {"en": " ending {label}", "ru": ", истекающие {label}"},
    "agreements_more": {
        "en": "… and {count} more.",
        "ru": "… и ещё {count}.",
    },
    "without_end_date": {
        "en": "{count} more agreements have no known end date.",
        "ru": "Ещё у {count} соглашений срок окончания неизвестен.",
    },
    "ends_in": {"en": "ends {date}: in {days} days", "ru": "до {date}: осталось {days} дн."},
    "ends_today": {"en": "ends today, {date}", "ru": "истекает сегодня, {date}"},
    "ends_tomorrow": {"en": "ends tomorrow, {date}", "ru": "истекает завтра, {date}"},
    "expired_on": {"en": "expired on {date}", "ru": "истекло {date}"},
    "no_end": {"en": "no known end date", "ru": "срок окончания неизвестен"},
    "contacts_usage": {
        "en": "Usage: /contacts QUERY — for example /contacts internship",
        "ru": "Использование: /contacts ЗАПРОС — например /contacts стажировка",
    },
    "contacts_header": {
        "en": "<b>Contacts</b> for “{query}”: {count}",
        "ru": "<b>Контакты</b> по запросу «{query}»: {count}",
    },
    "contacts_none": {
        "en": "No contacts found for “{query}”.",
        "ru": "Контакты по запросу «{query}» не найдены.",
    },
    "sources": {"en": "Sources", "ru": "Источники"},
    "not_found": {"en": "ℹ️ <b>Not in the documents</b>", "ru": "ℹ️ <b>В документах этого нет</b>"},
    "empty_question": {
        "en": "Please write your question after the mention.",
        "ru": "Напишите вопрос после упоминания.",
    },
    "unknown_command": {
        "en": "I don't know that command; see /help.",
        "ru": "Такой команды нет; см. /help.",
    },
    "staff_only": {
        "en": "Reminders are for staff only, in a private chat with me.",
        "ru": "Напоминания доступны только сотрудникам, в личном чате со мной.",
    },
    "subscribed": {
        "en": "🔔 Subscribed: I will tell you about agreements expiring within {windows} days, "
        "once per agreement for each of these windows, daily at {time}.",
        "ru": "🔔 Подписка оформлена: я сообщу о соглашениях, истекающих в ближайшие {windows} "
        "дн., один раз для каждого из этих сроков, ежедневно в {time}.",
    },
    "already_subscribed": {
        "en": "You are already subscribed; /unsubscribe stops the reminders.",
        "ru": "Вы уже подписаны; /unsubscribe отключает напоминания.",
    },
    "unsubscribed": {
        "en": "🔕 Reminders are off.",
        "ru": "🔕 Напоминания отключены.",
    },
    "not_subscribed": {
        "en": "You were not subscribed.",
        "ru": "Вы не были подписаны.",
    },
    "visitors_closed": {
        "en": "Sorry, this assistant is available to the institution's staff only.",
        "ru": "Извините, этот помощник доступен только сотрудникам организации.",
    },
    "error": {
        "en": "Something went wrong; please try again.",
        "ru": "Что-то пошло не так; попробуйте ещё раз.",
    },
    "reminder_header": {
        "en": "⏰ <b>Agreements expiring soon</b> (as of {today})",
        "ru": "⏰ <b>Скоро истекают соглашения</b> (на {today})",
    },
    "reminder_window": {"en": "within {window} days", "ru": "в ближайшие {window} дн."},
}


def text(key: str, lang: Lang, **values: object) -> str:
    """The text `key` in `lang`, with `values` (already escaped) filled in."""
    template = _TEXTS[key][lang]
    return template.format(**values) if values else template


def commands_list(lang: Lang, *, staff: bool) -> str:
    """The command menu as lines, `/command — description` (reminders only for staff)."""
    lines = []
    for command, english, russian in COMMANDS:
        if command in ("subscribe", "unsubscribe") and not staff:
            continue
        description = russian if lang == "ru" else english
        lines.append(f"/{command} — {_escape(description)}")
    return "\n".join(lines)


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
