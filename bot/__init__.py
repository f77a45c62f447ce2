"""Telegram glue: routers, keyboards, middlewares, storage and the entry point."""
