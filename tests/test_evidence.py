"""Evidence collection through the real dispatcher: photos, albums, files, forwards."""
from __future__ import annotations

import io
import os

from aiogram.methods import GetFile, SendDocument, SendPhoto
from PIL import Image

from flows.images import ALIEXPRESS_MAX_BYTES
from testkit.chat import ChatUser
from testkit.intake import walk
from tests.test_intake import focused
from tests.conftest import both_backends

pytestmark = both_backends  # every conversation here, on SQLite and on PostgreSQL


async def to_evidence_step(user: ChatUser) -> None:
    await walk(user, to="evidence", reason="damaged", defect="damaged_in_transit", protection="30")


def noise_png(side: int = 1500) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def document(file_id: str, name: str, mime: str, size: int) -> dict:
    return {"document": {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_name": name,
                         "mime_type": mime, "file_size": size}}


async def test_each_item_is_acknowledged_with_the_running_count(user, harness):
    await to_evidence_step(user)
    replies = await user.send_photo("p1")
    assert user.texts(replies) == "📷 Photo saved. 1 piece of evidence so far."
    replies = await user.send("The box was crushed on arrival.")
    assert user.texts(replies) == "📝 Note saved. 2 pieces of evidence so far."
    replies = await user.forward("We can give you $2 if you close the dispute", sender="Shop Official")
    warning, ack = [s.text for s in replies]
    assert "asks you to cancel or close the dispute. Don't." in warning and "saved this message as evidence" in warning
    assert ack == ("💬 Message from Shop Official (Nov 10, 2026) saved. 3 pieces of evidence so far.\n"
                   "📸 AliExpress takes images, not forwarded messages: also send a screenshot of this chat from "
                   "the AliExpress app.")
    d = await focused(user)
    items = await harness.store.list_evidence(d)
    assert [i.kind.value for i in items] == ["image", "note", "forward"]
    assert "pressure:cancel_dispute" in items[2].flags


async def test_an_album_is_acknowledged_once(user, harness):
    await to_evidence_step(user)
    for n in range(10):
        assert await user.send_photo(f"album-{n}", media_group_id="grp-1") == []
    await harness.settle()
    replies = user.replies()
    texts = [s.text for s in replies if s.text]
    assert len(texts) == 1 and texts[0].startswith("🖼 Album saved: 10 files. 10 pieces of evidence so far.\n"
                                                   "🏷 What does this album show?")
    d = await focused(user)
    assert len(await harness.store.list_evidence(d)) == 10


async def test_oversized_image_is_compressed_and_sent_back(user, harness):
    await to_evidence_step(user)
    data = noise_png()
    assert len(data) > ALIEXPRESS_MAX_BYTES
    harness.session.files["big-1"] = data
    replies = await user.send(**document("big-1", "receipt.png", "image/png", len(data)))
    sent_back = [s for s in replies if isinstance(s.method, SendDocument)]
    assert len(sent_back) == 1 and "AliExpress-ready" in sent_back[0].text
    jpeg = sent_back[0].method.document.data
    assert len(jpeg) < ALIEXPRESS_MAX_BYTES and Image.open(io.BytesIO(jpeg)).format == "JPEG"
    (item,) = await harness.store.list_evidence(await focused(user))
    assert item.flags == {"fixed"} and item.file_id == sent_back[0].result.document.file_id
    assert item.mime_type == "image/jpeg" and item.file_size == len(jpeg)


async def test_a_format_aliexpress_refuses_is_converted(user, harness):
    await to_evidence_step(user)
    buffer = io.BytesIO()
    Image.new("RGB", (200, 100), "red").save(buffer, "WEBP")
    harness.session.files["webp-1"] = buffer.getvalue()
    replies = await user.send(**document("webp-1", "photo.webp", "image/webp", len(buffer.getvalue())))
    assert any(isinstance(s.method, SendDocument) for s in replies)
    (item,) = await harness.store.list_evidence(await focused(user))
    assert item.flags == {"fixed"}


async def test_files_over_telegrams_download_limit_are_never_downloaded(user, harness):
    await to_evidence_step(user)
    replies = await user.send(**document("huge-1", "scan.png", "image/png", 25 * 1024 * 1024))
    assert "too big for me to shrink" in user.texts(replies)
    assert not any(isinstance(s.method, GetFile) for s in harness.session.sent)
    (item,) = await harness.store.list_evidence(await focused(user))
    assert item.flags == {"too_big"}
    replies = await user.press("Done")
    assert "1 file doesn't meet AliExpress's upload rules" in replies[-2].text


async def test_corrupt_image_gets_a_hint(user, harness):
    await to_evidence_step(user)
    harness.session.files["bad-1"] = b"\x89PNG\r\n\x1a\n not really a png" * 100_000
    replies = await user.send(**document("bad-1", "x.png", "image/png", 3_200_000))
    assert "couldn't open this image" in user.texts(replies)


async def test_documents_aliexpress_cannot_take_are_refused_and_not_stored(user, harness):
    await to_evidence_step(user)
    for name, mime in [("claim.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                       ("setup.exe", "application/x-msdownload"), ("all.zip", "application/zip")]:
        replies = await user.send(**document(name, name, mime, 10_000))
        assert "AliExpress takes only photos" in user.texts(replies)
    assert await harness.store.list_evidence(await focused(user)) == []


async def test_videos_and_video_notes_count(user, harness):
    await to_evidence_step(user)
    await user.send(**document("v-1", "unboxing.mp4", "video/mp4", 9_000_000))
    await user.send(video_note={"file_id": "vn-1", "file_unique_id": "vn1", "length": 240, "duration": 8})
    items = await harness.store.list_evidence(await focused(user))
    assert [i.kind.value for i in items] == ["video", "video"]


async def test_evidence_sent_early_is_kept_and_the_step_is_asked_again(user, harness):
    await walk(user, to="reason")
    await user.press("Item not received")
    await user.choose("none")  # tracking: no tracking / invalid number
    replies = await user.send_photo("early")
    text = user.texts(replies)
    assert "Photo saved" in text and "What is the order number?" in text
    d = await focused(user)
    assert d.state == "order_number" and len(await harness.store.list_evidence(d)) == 1


async def test_checklist_shows_what_is_still_missing(user):
    await to_evidence_step(user)
    await user.send_photo("d1")
    await user.press("The damage")
    await user.send_photo("unsaid")  # not labelled: ticks nothing, and the step offers to label it
    await user.send("/disputes")
    opened = await user.press("Open #")
    text = user.texts(opened)
    assert "⬜ Close-up photos of the damage (1/2)" in text
    assert "⬜ A video showing the defect or the unboxing" in text
    assert "⬜ Screenshots of your chat with the seller" in text
    assert "🏷 1 photo or video isn't labelled yet" in text
    # "Label my photos": the unlabelled one is sent back and asked about.
    step = next(s for s in opened if any("Label my photos (1)" in t for t, _ in s.buttons()))
    replies = await user.press("Label my photos (1)", on=step)
    asked = next(s for s in replies if isinstance(s.method, SendPhoto))
    assert asked.method.photo == "unsaid" and asked.text == "📷 Photo 2 of 2: what does it show?"
    replies = await user.press("The damage", on=asked)
    assert "✅ Close-up photos of the damage (2/2)" in replies[-1].text and "🏷" not in replies[-1].text
    assert user.alerts(await user.press("Label my photos", on=step)) == ["This button is outdated."]


async def test_evidence_without_a_dispute_says_how_to_start(user, harness):
    replies = await user.send_photo("stray")
    assert "Send /new to start one" in user.texts(replies)
    assert await harness.store.get_user(user.id) is None or await harness.store.list_disputes(user.id) == []
