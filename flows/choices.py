"""The finite answers of the dispute form, as data.

Labels are msgids: flows/ marks them with ``N_`` for extraction and the bot
translates them when it renders a button. ``form`` is what AliExpress's own
(English) form calls the option; a defect's ``english`` is its phrase in the
explanation the buyer pastes into the form (translated only for the copy the
buyer reads in their own language).
"""
from __future__ import annotations

from dataclasses import dataclass


def N_(message: str) -> str:
    """Marks a message for extraction without translating it here."""
    return message


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    form: str
    english: str = ""


REASONS: tuple[Option, ...] = (
    Option("not_received", N_("📦 Item not received"), N_("Item not received")),
    Option("not_as_described", N_("🔍 Not as described"), N_("Item not as described")),
    Option("damaged", N_("💥 Damaged or doesn't work"), N_("Item damaged or defective")),
)

RECEIVED: tuple[Option, ...] = (
    Option("yes", N_("Yes, I have it"), N_("Yes")),
    Option("no", N_("No"), N_("No")),
)

# A sub-reason's button says exactly what the form's drop-down says (``label`` is ``form``), so
# "pick this in the form" and the button the buyer tapped use the same words in every language.
DEFECTS: tuple[Option, ...] = (
    Option("wrong_item", N_("Wrong item"), N_("Wrong item"),
           N_("it is a different item from the one I ordered")),
    Option("counterfeit", N_("Counterfeit item"), N_("Counterfeit item"),
           N_("it is a counterfeit, not the brand shown in the listing")),
    Option("brand", N_("Brand not as described"), N_("Brand not as described"),
           N_("the brand is not as described")),
    Option("model", N_("Model not as described"), N_("Model not as described"),
           N_("the model is not as described")),
    Option("size", N_("Size not as described"), N_("Size not as described"),
           N_("the size is not as described")),
    Option("color", N_("Color not as described"), N_("Color not as described"),
           N_("the color is not as described")),
    Option("material", N_("Material not as described"), N_("Material not as described"),
           N_("the material is not as described")),
    Option("weight", N_("Weight not as described"), N_("Weight not as described"),
           N_("the weight is not as described")),
    Option("missing_parts", N_("Missing parts/features"), N_("Missing parts/features"),
           N_("parts or features shown in the listing are missing")),
    Option("short_quantity", N_("Quantity not as described"), N_("Quantity not as described"),
           N_("I received fewer pieces than I ordered")),
    Option("empty_parcel", N_("Empty package"), N_("Empty package"),
           N_("the package arrived empty")),
    Option("no_packaging", N_("No packaging/box"), N_("No packaging/box"),
           N_("it came without the packaging or box")),
    Option("damaged_in_transit", N_("Damaged in transit"), N_("Damaged in transit"),
           N_("it arrived damaged")),
    Option("does_not_work", N_("Does not work properly"), N_("Does not work properly"),
           N_("it does not work properly")),
    Option("rusted_faded", N_("Product rusted/faded"), N_("Product rusted/faded"),
           N_("it is rusted or faded")),
)

# Which defects make sense for each reason; the form's drop-down is long, a
# stressed buyer should see only the relevant half.
DEFECTS_BY_REASON: dict[str, tuple[str, ...]] = {
    "not_as_described": ("wrong_item", "counterfeit", "brand", "model", "size", "color", "material", "weight",
                         "missing_parts", "short_quantity", "empty_parcel", "no_packaging"),
    "damaged": ("damaged_in_transit", "does_not_work", "rusted_faded", "missing_parts", "short_quantity",
                "empty_parcel", "no_packaging"),
}

# Not received: what the tracking shows decides the advice, the evidence and the explanation (docs/rules.md).
TRACKING: tuple[Option, ...] = (
    Option("moving", N_("🚚 Moving normally"), N_("Moving normally")),
    Option("stalled", N_("⏸ No updates for a while"), N_("No updates for a while")),
    Option("delivered", N_("📭 Says delivered, I have nothing"), N_("Shows delivered")),
    Option("returned", N_("↩️ Returned to sender"), N_("Returned to sender")),
    Option("customs", N_("🛃 Held at customs"), N_("Held at customs")),
    Option("none", N_("❓ No tracking / invalid number"), N_("No tracking or invalid number")),
)

SOLUTIONS: tuple[Option, ...] = (
    Option("refund_only", N_("💵 Refund only"), N_("Refund only")),
    Option("return_and_refund", N_("↩️ Return the item and refund"), N_("Return & Refund")),
)


def option(options: tuple[Option, ...], value: str | None) -> Option | None:
    return next((o for o in options if o.value == value), None)


def defects_for(reason: str | None) -> tuple[Option, ...]:
    wanted = DEFECTS_BY_REASON.get(reason or "", ())
    return tuple(o for o in DEFECTS if o.value in wanted) or DEFECTS
