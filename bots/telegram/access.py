"""Who is asking, whether the bot is addressed, and which conversation a message continues.

The audience is decided here, from Telegram's own user id, never from anything the user writes:
staff only in a private chat with a user listed in `COOP_TELEGRAM__STAFF_IDS`; in groups the
bot answers everyone as a visitor, and only when mentioned or replied to.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType

from assistant.retrieval.audience import Audience
from assistant.settings import Settings
from bots.telegram.texts import Lang


@dataclass(frozen=True)
class Caller:
    """The chat and user a message comes from, as the bot treats them."""

    chat_id: int
    user_id: int
    private: bool
    audience: Audience
    message_id: int

    @property
    def reply_to(self) -> int | None:
        """In groups the bot replies to the message it answers; in private chats it need not."""
        return None if self.private else self.message_id


def audience_for(settings: Settings, user_id: int, private: bool) -> Audience:
    """Staff iff the user is on the allowlist and the chat is private; otherwise a visitor."""
    return "staff" if private and user_id in settings.telegram.staff_ids else "public"


def session_id(chat_id: int, secret: str) -> str:
    """The conversation id of a chat: keyed with the bot token so nobody can guess it and join
    the chat's conversation through the API (which lets clients choose session ids). Matches
    `^[A-Za-z0-9_-]{1,64}$`; distinct chats (also negative group ids) get distinct ids."""
    digest = hashlib.sha256(f"{secret}:{chat_id}".encode()).hexdigest()[:40]
    return f"tg-{digest}"


def is_private(update: Update) -> bool:
    """Whether the update comes from a private chat."""
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


def addressed_text(message: Message, bot_id: int, bot_username: str | None) -> str | None:
    """In a group: the message's text with the bot's @mention removed when the message mentions
    the bot or replies to one of its messages; None when it is not meant for the bot."""
    text = message.text or ""
    replied = message.reply_to_message
    replies_to_bot = bool(replied and replied.from_user and replied.from_user.id == bot_id)
    mentioned = False
    username = (bot_username or "").casefold()
    for entity, value in message.parse_entities(
        [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
    ).items():
        by_name = entity.type == MessageEntity.MENTION and value.casefold() == f"@{username}"
        by_id = (
            entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id
        )
        mentioned = mentioned or (bool(username) and by_name) or bool(by_id)
    if not (mentioned or replies_to_bot):
        return None
    return strip_mention(text, bot_username)


def strip_mention(text: str, bot_username: str | None) -> str:
    """The text without `@bot_username` (any case), whitespace tidied."""
    if bot_username:
        text = re.sub(rf"@{re.escape(bot_username)}\b", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split())


def command_addressed(message: Message, bot_id: int, bot_username: str | None) -> bool:
    """In a group, a command is for this bot when it says so (`/help@bot`) or replies to it."""
    replied = message.reply_to_message
    if replied and replied.from_user and replied.from_user.id == bot_id:
        return True
    first = (message.text or "").split(maxsplit=1)[0] if message.text else ""
    _, _, target = first.partition("@")
    return bool(bot_username) and target.casefold() == (bot_username or "").casefold()


def chosen_language(stored: Lang | None, language_code: str | None) -> Lang:
    """The chat's /lang choice, else the user's Telegram language (ru* → ru, else en)."""
    if stored is not None:
        return stored
    return "ru" if language_code and language_code.lower().startswith("ru") else "en"
