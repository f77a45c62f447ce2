"""Warns the buyer at once when a seller's message pressures them (docs/rules.md)."""
from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from flows.evidence import EvidenceItem
from flows.guard import Pressure, inspect_seller_message

# The routers that don't pass the operator's policy get its default margin.

_WARNINGS = {
    Pressure.CANCEL_DISPUTE: lambda margin: _(
        "🛑 <b>The seller asks you to cancel or close the dispute. Don't.</b> A cancelled dispute can't be "
        "reopened, and once Buyer Protection is over your payment goes to the seller."),
    Pressure.CONFIRM_RECEIPT: lambda margin: _(
        "🛑 <b>The seller asks you to confirm receipt. Don't</b> until the problem is solved: confirming "
        "ends your Buyer Protection."),
    Pressure.OFF_PLATFORM: lambda margin: _(
        "🛑 <b>The seller offers money outside AliExpress</b> (PayPal, bank transfer, card, gift card). "
        "Don't accept: outside the platform AliExpress can't protect you, and such promises are often broken."),
    Pressure.PROMISE_FOR_CANCEL: lambda margin: _(
        "🛑 <b>Promises in exchange for cancelling</b> (a new item, a coupon, a refund later) bind the seller "
        "to nothing. Keep the dispute open until you actually have your money or your item."),
    Pressure.DELAY_DISPUTE: lambda margin: ngettext(
        "⏳ <b>The seller asks you to wait or not to open a dispute.</b> Waiting can let your Buyer Protection "
        "run out. Check the timer on the order page: with fewer than {days} day left, open the dispute now. "
        "The seller can still send the item or refund you inside the dispute.",
        "⏳ <b>The seller asks you to wait or not to open a dispute.</b> Waiting can let your Buyer Protection "
        "run out. Check the timer on the order page: with fewer than {days} days left, open the dispute now. "
        "The seller can still send the item or refund you inside the dispute.", margin).format(days=margin),
    Pressure.REVIEW_FOR_REFUND: lambda margin: _(
        "🛑 <b>The seller offers a refund for a good review.</b> Such a promise binds the seller to nothing. "
        "Don't confirm receipt or leave a review to get it: ask for the refund in the dispute, where AliExpress "
        "can enforce it."),
}


def guard_warning(item: EvidenceItem, *, margin_days: int) -> str | None:
    """The warning for a seller message, if any; flags the item so the record keeps it.

    ``margin_days`` is the policy's Buyer Protection safety margin (docs/rules.md)."""
    finding = inspect_seller_message(item.text or "")
    if not finding.alarming:
        return None
    item.flags |= {f"pressure:{kind.value}" for kind in finding.kinds}
    lines = [_WARNINGS[kind](margin_days) for kind in Pressure if kind in finding.kinds]
    lines.append(_("I saved this message as evidence: it shows the seller's pressure."))
    return "\n".join(lines)
