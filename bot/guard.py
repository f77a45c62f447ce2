"""Warns the buyer at once when a seller's message pressures them (docs/rules.md)."""
from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from flows.evidence import EvidenceItem
from flows.guard import Pressure, inspect_seller_message

_WARNINGS = {
    Pressure.CANCEL_DISPUTE: lambda: _(
        "🛑 <b>The seller asks you to cancel or close the dispute. Don't.</b> A cancelled dispute can't be "
        "reopened, and once Buyer Protection is over your payment goes to the seller."),
    Pressure.CONFIRM_RECEIPT: lambda: _(
        "🛑 <b>The seller asks you to confirm receipt. Don't</b> until the problem is solved: confirming "
        "ends your Buyer Protection."),
    Pressure.OFF_PLATFORM: lambda: _(
        "🛑 <b>The seller offers money outside AliExpress</b> (PayPal, bank transfer, card, gift card). "
        "Don't accept: outside the platform AliExpress can't protect you, and such promises are often broken."),
    Pressure.PROMISE_FOR_CANCEL: lambda: _(
        "🛑 <b>Promises in exchange for cancelling</b> (a new item, a coupon, a refund later) bind the seller "
        "to nothing. Keep the dispute open until you actually have your money or your item."),
}


def guard_warning(item: EvidenceItem) -> str | None:
    """The warning for a seller message, if any; flags the item so the record keeps it."""
    finding = inspect_seller_message(item.text or "")
    if not finding.alarming:
        return None
    item.flags |= {f"pressure:{kind.value}" for kind in finding.kinds}
    lines = [_WARNINGS[kind]() for kind in Pressure if kind in finding.kinds]
    lines.append(_("I saved this message as evidence: it shows the seller's pressure."))
    return "\n".join(lines)
