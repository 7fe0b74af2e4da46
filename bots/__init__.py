"""Faces other than the API and the CLI: the Telegram bot (and the website widget)."""
