"""Evidence: what the buyer sent, and what convinces the Dispute Team (docs/rules.md, "Evidence")."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from flows.choices import N_


class EvidenceKind(StrEnum):
    IMAGE = "image"      # a photo or an image sent as a file
    VIDEO = "video"
    FORWARD = "forward"  # a forwarded message, usually the seller's
    NOTE = "note"        # the buyer's own text
    FILE = "file"        # any other document: kept, but AliExpress won't take it


# The label of evidence that serves no checklist line.
OTHER = "other"
# Flags that keep a file from being uploaded to AliExpress until it is fixed.
UPLOAD_PROBLEMS = frozenset({"format", "too_big"})


@dataclass
class EvidenceItem:
    kind: EvidenceKind
    file_id: str | None = None
    file_unique_id: str | None = None
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None
    media_group_id: str | None = None
    text: str | None = None
    # For forwards: who wrote the original and when (evidence needs both).
    origin_name: str | None = None
    origin_date: datetime | None = None
    # Problems against AliExpress's upload rules, e.g. "format", "size".
    flags: set[str] = field(default_factory=set)
    # What the buyer said it shows: a checklist requirement's key, or "other" (None: not labelled yet).
    label: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class Requirement:
    key: str
    label: str
    accepts: frozenset[EvidenceKind]
    count: int = 1


# Short button labels for "what does this photo show?" (a checklist line is too long for a button).
SHORT_LABELS: dict[str, str] = {
    "tracking": N_("📍 Tracking history"), "order": N_("🧾 Order page"), "chat": N_("💬 Seller chat"),
    "item_photos": N_("📷 The item"), "listing": N_("🛍 The listing"), "damage_photos": N_("🔎 The damage"),
    "video": N_("🎬 Defect or unboxing"), "carrier_statement": N_("📄 Carrier statement"),
    "customs_document": N_("🛃 Customs document"), "return_tracking": N_("↩️ Return tracking"),
    "invalid_tracking": N_("❓ Number not found"), OTHER: N_("➕ Something else"),
}


_IMG = frozenset({EvidenceKind.IMAGE})
_ORDER = Requirement("order", N_("Screenshot of the order page"), _IMG)
# A forwarded message is kept here (its text, date and sender), but AliExpress takes only images: the chat
# counts as done when the buyer has a screenshot of it (docs/rules.md, "Evidence").
_CHAT = Requirement("chat", N_("Screenshots of your chat with the seller (AliExpress takes images, "
                               "not forwarded messages)"), _IMG)

# Not received: what else convinces, per tracking status (docs/rules.md, "Not received: the tracking").
TRACKING_EXTRA: dict[str, Requirement] = {
    "delivered": Requirement("carrier_statement", N_("A statement from the carrier or post office that "
                                                     "you did not receive it"), _IMG),
    "customs": Requirement("customs_document", N_("The customs notice or document"), _IMG),
    "returned": Requirement("return_tracking", N_("Screenshot of the tracking showing the return"), _IMG),
    "none": Requirement("invalid_tracking", N_("Screenshot of the carrier's site finding no such number"), _IMG),
}

CHECKLISTS: dict[str, tuple[Requirement, ...]] = {
    "not_received": (
        Requirement("tracking", N_("Screenshot of the tracking history"), _IMG),
        _ORDER, _CHAT,
    ),
    "not_as_described": (
        Requirement("item_photos", N_("Clear photos of the item you received"),
                    _IMG, count=2),
        Requirement("listing", N_("Screenshot of the listing, to compare side by side"), _IMG),
        _ORDER, _CHAT,
    ),
    "damaged": (
        Requirement("damage_photos", N_("Close-up photos of the damage"),
                    _IMG, count=2),
        Requirement("video", N_("A video showing the defect or the unboxing"),
                    frozenset({EvidenceKind.VIDEO})),
        _ORDER, _CHAT,
    ),
}


@dataclass(frozen=True)
class ChecklistLine:
    requirement: Requirement
    have: int

    @property
    def done(self) -> bool:
        return self.have >= self.requirement.count


def requirements_for(reason: str | None, tracking: str | None = None) -> tuple[Requirement, ...]:
    """The checklist for the reason; not received adds what its tracking status needs, after the tracking."""
    requirements = CHECKLISTS.get(reason or "", CHECKLISTS["not_as_described"])
    extra = TRACKING_EXTRA.get(tracking or "") if reason == "not_received" else None
    return (requirements[0], extra, *requirements[1:]) if extra else requirements


def checklist(reason: str | None, items: list[EvidenceItem], tracking: str | None = None) -> list[ChecklistLine]:
    """How far each requirement is met by the evidence the buyer labelled with it.

    Nothing is guessed: a photo ticks a line only once the buyer said what it shows (a screenshot of the chat
    and a photo of the damage look alike to the bot); an unlabelled one waits for its label, "other" fills none.
    """
    requirements = requirements_for(reason, tracking)
    have = dict.fromkeys((r.key for r in requirements), 0)
    by_key = {r.key: r for r in requirements}
    for item in items:
        labelled = by_key.get(item.label or "")
        if labelled is not None and have[labelled.key] < labelled.count:
            have[labelled.key] += 1
    return [ChecklistLine(r, have[r.key]) for r in requirements]


def counts(items: list[EvidenceItem]) -> dict[EvidenceKind, int]:
    result = dict.fromkeys(EvidenceKind, 0)
    for item in items:
        result[item.kind] += 1
    return result


def open_labels(reason: str | None, items: list[EvidenceItem], kind: EvidenceKind,
                tracking: str | None = None) -> list[str]:
    """Keys of the checklist lines a new item of ``kind`` could still fill, then "other": the buttons after a
    photo or video ("what does it show?"). ``items`` excludes the new item."""
    lines = checklist(reason, items, tracking)
    return [line.requirement.key for line in lines if kind in line.requirement.accepts and not line.done] + [OTHER]


def valid_label(reason: str | None, key: str, tracking: str | None = None) -> bool:
    return key == OTHER or key in {r.key for r in requirements_for(reason, tracking)}


LABELLED_KINDS = frozenset({EvidenceKind.IMAGE, EvidenceKind.VIDEO})


def album_parts(items: list[EvidenceItem], album: str | None) -> list[EvidenceItem]:
    """The photos and videos of one album (media group), in the order they were stored."""
    return [i for i in items if album is not None and i.media_group_id == album and i.kind in LABELLED_KINDS]


def unlabelled(items: list[EvidenceItem]) -> list[EvidenceItem]:
    """The photos and videos the buyer hasn't said anything about yet: they tick no line until then."""
    return [i for i in items if i.kind in LABELLED_KINDS and i.label is None]


def album_labels(reason: str | None, items: list[EvidenceItem], album: str | None,
                 tracking: str | None = None) -> list[str]:
    """The buttons for "what does this album show?": the open checklist lines every part of it can fill (a
    photo can't be the unboxing video), then "other"."""
    parts = [i for i in album_parts(items, album) if i.label is None]
    keys: list[str] | None = None
    for kind in {p.kind for p in parts}:
        open_keys = open_labels(reason, items, kind, tracking)
        keys = open_keys if keys is None else [k for k in keys if k in open_keys]
    return keys or [OTHER]


def fits_album(reason: str | None, key: str, parts: list[EvidenceItem], tracking: str | None = None) -> bool:
    """Whether one label can stand for every part: a line of this checklist that takes each part's kind."""
    if key == OTHER:
        return True
    requirement = next((r for r in requirements_for(reason, tracking) if r.key == key), None)
    return requirement is not None and all(p.kind in requirement.accepts for p in parts)
