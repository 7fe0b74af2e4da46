"""The Telegram bot (python-telegram-bot): `coop bot` runs `runner.run_bot`; `app.build_bot`
builds the Application; `runner.EmbeddedBot` runs it inside the API's event loop."""
