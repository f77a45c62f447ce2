"""The harness tests, scripts and benchmarks share: a recording Bot API session and chat-style helpers
(``chat``), a fake Bot API server on 127.0.0.1 (``fake_bot_api``), the bot as a process (``processes``)
and seeded reminders (``seeding``). Nothing here is a test; nothing here imports tests/."""
