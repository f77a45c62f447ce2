"""/forget leaves no readable copy: after it, neither the database file nor its WAL
holds any of the buyer's typed texts (secure_delete zeroes the rows, a TRUNCATE
checkpoint empties the WAL that still had the old pages)."""
from __future__ import annotations

from pathlib import Path

from testkit.chat import BotHarness, ChatUser

ORDER = "8123456789012345"
NOTE = "Zebra-quartz-7741 the seller promised a refund"
OTHER_NOTE = "Other buyer's note 55-kiwi"


def disk_bytes(db_path: Path) -> bytes:
    parts = [db_path, db_path.with_name(db_path.name + "-wal")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


async def to_order_total(user: ChatUser, order: str, note: str) -> None:
    await user.send("/start")
    await user.press("Start a dispute")
    await user.choose("not_received")
    await user.choose("none")  # tracking: no tracking / invalid number
    await user.send(order)
    await user.forward(note, sender="Best Store")


async def test_forget_leaves_no_copy_in_the_database_or_wal(harness: BotHarness) -> None:
    ann, bob = harness.user(1001), harness.user(1002, first_name="Bob")
    await to_order_total(ann, ORDER, NOTE)
    await to_order_total(bob, "8999999999999999", OTHER_NOTE)
    d = await harness.store.focused_dispute(ann.id)
    assert d.order_number == ORDER
    assert [i.text for i in await harness.store.list_evidence(d)] == [NOTE]
    before = disk_bytes(harness.db_path)
    assert ORDER.encode() in before and NOTE.encode() in before  # the check below can fail

    await ann.send("/forget")
    replies = await ann.press("Yes, delete everything")
    assert "All your data is deleted" in ChatUser.texts(replies)

    # Read while the bot still runs (connection open): what a copy of the disk would show.
    after = disk_bytes(harness.db_path)
    assert ORDER.encode() not in after
    assert NOTE.encode() not in after
    assert b"Zebra-quartz" not in after
    # (The WAL was cut to zero bytes; marking the /forget update done writes a frame again.)
    assert await harness.store.export_user(ann.id) == {"user": None, "disputes": []}
    # The other buyer keeps everything.
    assert OTHER_NOTE.encode() in after
    other = await harness.store.focused_dispute(bob.id)
    assert other.order_number == "8999999999999999"
    assert [i.text for i in await harness.store.list_evidence(other)] == [OTHER_NOTE]


async def test_the_bot_keeps_working_after_forget(harness: BotHarness) -> None:
    ann = harness.user(1001)
    await to_order_total(ann, ORDER, NOTE)
    await ann.send("/forget")
    await ann.press("Yes, delete everything")
    replies = await ann.send("/start")
    assert any("Start a dispute" in t for s in replies for t, _ in s.buttons()), ChatUser.texts(replies)
    await ann.press("Start a dispute")
    await ann.choose("not_received")
    await ann.choose("none")
    await ann.send("8111111111111111")
    d = await harness.store.focused_dispute(ann.id)
    assert d.order_number == "8111111111111111"
    # Written to the WAL again after the truncate, and read back after a restart.
    await harness.restart()
    assert (await harness.store.focused_dispute(ann.id)).order_number == "8111111111111111"
