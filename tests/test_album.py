"""Albums at the evidence step, through the real Dispatcher in all four languages.

Telegram delivers each photo of an album as its own update; once the album is in, the bot asks ONE question:
one answer labels every photo, or "different things" asks about each photo in turn, sending it back ("Photo 2
of 10"). The labels are stored, fill the checklist and name the uploads in the explanation's "Attached:" line.
"""
from __future__ import annotations

import pytest
from aiogram.methods import SendMessage, SendPhoto

from bot.keyboards import AlbumLabel
from flows.evidence import OTHER, EvidenceItem, EvidenceKind, album_labels
from testkit.chat import ChatUser, Sent
from testkit.intake import walk
from tests.test_languages import leaks

LANGS = ("en", "ru", "es", "de")
# A total typed with its currency, so no currency question: the path to the evidence step is the same everywhere.
TOTAL = {"en": "$25.90", "ru": "25,90 EUR", "es": "25,90 EUR", "de": "25,90 EUR"}
SHIPPED = {"en": "11/1/2026", "ru": "01.11.2026", "es": "1/11/2026", "de": "01.11.2026"}


async def to_evidence(user: ChatUser, lang: str, *, new: bool = True) -> None:
    """Not as described (colour), refund only, full amount: the checklist wants 2 item photos, the listing,
    the order page and the chat. ``new=False``: the focused dispute, from where it is."""
    await walk(user, to="evidence", new=new, reason="not_as_described", received="yes", defect="color",
               detail="?", solution="refund_only", order_number="8123456789012345", order_total=TOTAL[lang],
               shipped_on=SHIPPED[lang], protection="30", amount="full")


async def send_album(user: ChatUser, n: int, group: str) -> list[Sent]:
    for i in range(n):
        assert await user.send_photo(f"{group}-{i}", media_group_id=group) == []  # nothing until it's all in
    await user.harness.settle()
    return user.replies()


def values(sent: Sent) -> list[str]:
    return [data.rsplit(":", 1)[-1] for _, data in sent.buttons()]


async def labels(user: ChatUser) -> list[str | None]:
    d = await user.harness.store.focused_dispute(user.id)
    return [i.label for i in await user.harness.store.list_evidence(d)]


def checklist_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1] in ("✅", "⬜")]


def no_english(lang: str, texts: list[str]) -> None:
    if lang != "en":
        found = sorted({f for t in texts for f in leaks(t)})
        assert not found, f"English in {lang}: {found[:5]}"


@pytest.mark.parametrize("lang", LANGS)
async def test_an_album_of_two_is_labelled_with_one_tap(harness, lang):
    user = harness.user(9100 + LANGS.index(lang), language_code=lang)
    await to_evidence(user, lang)
    user.replies()
    (question,) = await send_album(user, 2, f"two-{lang}")
    assert question.text.startswith("🖼") and "\n🏷 " in question.text  # saved, then the one question
    assert values(question) == ["item_photos", "listing", "order", "chat", OTHER, "each", "done"]
    replies = await user.choose("item_photos")
    alerts = user.alerts(replies)
    assert len(alerts) == 1 and "2" in alerts[0]
    assert await labels(user) == ["item_photos", "item_photos"]
    # The tapped question keeps its answer, loses its buttons; the checklist comes back with the line done.
    edited = [s for s in replies if s.method.__class__.__name__ == "EditMessageText"]
    assert len(edited) == 1 and edited[0].method.reply_markup is None and "→" in edited[0].text
    lines = checklist_lines(replies[-1].text)
    assert lines[0].startswith("✅") and lines[0].endswith("(2/2)") and all(x.startswith("⬜") for x in lines[1:])
    no_english(lang, [question.text, *alerts, replies[-1].text])
    replies = await user.choose("done")
    assert "Attached: 2 photos of the item I received." in replies[-1].text


@pytest.mark.parametrize("lang", LANGS)
async def test_an_album_of_ten_is_labelled_photo_by_photo(harness, lang):
    user = harness.user(9200 + LANGS.index(lang), language_code=lang)
    await to_evidence(user, lang)
    user.replies()
    group = f"ten-{lang}"
    (question,) = await send_album(user, 10, group)
    replies = await user.choose("each")
    plan = ["item_photos", "item_photos", "listing", "order", "chat"] + [OTHER] * 5
    asked = []
    for i, key in enumerate(plan):
        photos = [s for s in replies if isinstance(s.method, SendPhoto)]
        assert len(photos) == 1, f"photo {i + 1} was not asked about"
        photo = photos[0]
        # The photo itself is sent back, named "i of 10", with the lines it can still fill.
        assert photo.method.photo == f"{group}-{i}" and f"{i + 1}" in photo.text and "10" in photo.text
        asked.append(photo.text)
        offered = values(photo)
        assert key in offered and offered[-1] == "done"
        if i >= 2:
            assert "item_photos" not in offered  # two photos of the item filled that line
        replies = await user.choose(key)
    assert await labels(user) == plan
    # After the last photo: the checklist, every line done.
    final = [s for s in replies if isinstance(s.method, SendMessage)][-1]
    assert [line[:1] for line in checklist_lines(final.text)] == ["✅"] * 4
    no_english(lang, [question.text, *asked, final.text])
    replies = await user.choose("done")
    assert ("Attached: 2 photos of the item I received, 1 screenshot of the listing, 1 screenshot of the order "
            "page, 1 screenshot of my chat with the seller, and 5 other photos.") in replies[-1].text


async def test_stale_album_buttons_change_nothing_and_never_crash(harness):
    user = harness.user(9300)
    await to_evidence(user, "en")
    user.replies()
    (question,) = await send_album(user, 3, "stale")
    await user.choose("listing")
    assert await labels(user) == ["listing"] * 3
    # The same question tapped again (a double tap, an old message): every photo is labelled already.
    for key in ("order", "each"):
        data = next(d for _, d in question.buttons() if d.endswith(f":{key}"))
        replies = await user.tap(data, message=question)
        assert user.alerts(replies) == ["This button is outdated."]
    assert await labels(user) == ["listing"] * 3
    # A label that can't stand for photos, or an album that isn't there.
    d = await harness.store.focused_dispute(user.id)
    first = (await harness.store.list_evidence(d))[0].id
    for forged in (AlbumLabel(dispute_id=d.id, first_item_id=first, key="video"),
                   AlbumLabel(dispute_id=d.id, first_item_id=first + 100, key=OTHER),
                   AlbumLabel(dispute_id=d.id + 1, first_item_id=first, key=OTHER)):
        replies = await user.tap(forged.pack(), message=question)
        assert user.alerts(replies) == ["This button is outdated."]
    # Everything forgotten: the old buttons, album-wide and per photo, answer "outdated" too.
    (question,) = await send_album(user, 2, "forgotten")
    replies = await user.choose("each")
    per_photo = next(s for s in replies if isinstance(s.method, SendPhoto))
    await user.send("/forget")
    await user.press("Yes, delete everything")
    for sent, key in ((question, OTHER), (per_photo, OTHER)):
        data = next(d for _, d in sent.buttons() if d.endswith(f":{key}"))
        replies = await user.tap(data, message=sent)
        assert user.alerts(replies) == ["This button is outdated."]


@pytest.mark.parametrize("lang", LANGS)
async def test_an_album_sent_early_is_kept_and_labelled_at_the_evidence_step(harness, lang):
    user = harness.user(9400 + LANGS.index(lang), language_code=lang)
    await walk(user, to="received", reason="not_as_described")
    (ack,) = await send_album(user, 3, f"early-{lang}")
    assert ack.text.startswith("🖼") and ack.buttons() == []  # saved; the question waits for the evidence step
    assert await labels(user) == [None] * 3
    await to_evidence(user, lang, new=False)
    # The evidence step: nothing ticked by guessing, and a button to label the three.
    step = user.last_with_buttons()
    assert [line[:1] for line in checklist_lines(step.text)] == ["⬜"] * 4 and "\n🏷 3 " in step.text
    label_mine = next(d for _, d in step.buttons() if d.startswith("lbls:"))
    replies = await user.tap(label_mine, message=step)
    for i, key in enumerate(("item_photos", "item_photos", "listing")):
        asked = next(s for s in replies if isinstance(s.method, SendPhoto))
        assert asked.method.photo == f"early-{lang}-{i}" and asked.text.count(str(i + 1)) >= 1
        no_english(lang, [asked.text])
        replies = await user.choose(key)
    assert await labels(user) == ["item_photos", "item_photos", "listing"]
    final = [s for s in replies if isinstance(s.method, SendMessage)][-1]
    assert [line[:1] for line in checklist_lines(final.text)] == ["✅", "✅", "⬜", "⬜"]
    assert "🏷" not in final.text and not any(d.startswith("lbls:") for _, d in final.buttons())
    no_english(lang, [step.text, final.text])


def test_a_mixed_album_is_offered_only_what_fits_every_part():
    photo, video = (EvidenceItem(kind=k, media_group_id="g", id=n)
                    for n, k in enumerate((EvidenceKind.IMAGE, EvidenceKind.VIDEO), 1))
    # Damaged: the photos of the damage can't be the unboxing video, and back: only "something else" for both.
    assert album_labels("damaged", [photo, video], "g") == [OTHER]
    assert album_labels("damaged", [photo], "g") == ["damage_photos", "order", "chat", OTHER]
    assert album_labels("damaged", [video], "g") == ["video", OTHER]
