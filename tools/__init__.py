"""Command-line tools that run beside the bot on the same database (no NoneBot here)."""
