"""Spots seller pressure that would cost the buyer AliExpress's Buyer Protection.

Sellers ask buyers to cancel the dispute (a cancelled one cannot be reopened),
to confirm receipt early, or to take money outside the platform, often for a
promised new item or refund. The bot runs every seller message it sees through
``inspect_seller_message`` and warns at once when the finding is alarming.

The text is normalized (casefold, Latin accents stripped, ё→е, punctuation →
one space, SMS spellings expanded), then searched with per-language regexes
kept as data below. Each gap is a bounded run of words after a literal, so no
pattern can backtrack catastrophically and a long paste costs time ∝ length.

Negation is ignored on purpose, so "I won't cancel the dispute" is flagged too:
sellers write "if you don't close the dispute we can't refund", and a needless
warning costs the buyer a second where a missed one costs the money.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Pressure(StrEnum):
    CANCEL_DISPUTE = "cancel_dispute"          # cancel/close/withdraw the dispute
    CONFIRM_RECEIPT = "confirm_receipt"        # confirm the order was received
    OFF_PLATFORM = "off_platform"              # money outside AliExpress
    PROMISE_FOR_CANCEL = "promise_for_cancel"  # a reward offered for cancelling


@dataclass(frozen=True)
class GuardFinding:
    kinds: frozenset[Pressure] = frozenset()

    @property
    def alarming(self) -> bool:
        return bool(self.kinds)


# Latin letters with diacritics -> their base letter (é→e, ñ→n, ä→a), so
# unaccented machine/phone spellings match; Cyrillic й is left alone, since
# stripping it would turn "закройте" into another word. ß is casefolded to ss.
_FOLD = {cp: "".join(c for c in unicodedata.normalize("NFKD", chr(cp)) if not unicodedata.combining(c))
         for cp in range(0xC0, 0x250)}
_FOLD[ord("ё")] = "е"
_SMS = {"u": "you", "ur": "your", "wil": "will",
        **dict.fromkeys(("pls", "plz", "pliz", "plis", "pleas", "pleace"), "please")}
_SMS_RE = re.compile(r"\b(?:" + "|".join(_SMS) + r")\b")


def _normalize(text: str) -> str:
    s = unicodedata.normalize("NFKC", text or "").casefold().translate(_FOLD)
    s = re.sub(r"[\W_]+", " ", s).strip()  # "don't"→"don t", "re-send"→"re send"
    return _SMS_RE.sub(lambda m: _SMS[m.group()], s)


def _fill(words: str, most: int) -> str:
    """Up to `most` of the given small words, e.g. articles between a verb and its noun."""
    return "(?:(?:" + "|".join(words.split()) + ") ){0," + str(most) + "}"


_W3 = r"(?:\w+ ){0,3}?"  # up to three arbitrary words, lazily
# English: a verb that ends a dispute, its object, and what may sit between.
_EN_END = r"\b(?:cancel|clos|withdr[ae]w|retract|revok|remov|delet|drop)\w*"
_EN_OBJ = (r"(?:disput\w*|despute\w*|dispite|claim\w*|complaint\w*|argument"
           r"|(?:refund|return) (?:request|application))\b")
_NOT_ORDER = r"\w*\b(?! (?:the |your |this |my )?order)"  # "cancel the order" is no dispute
_RU_OBJ = r"(?:спор(?:а|е|у|ом|ы)?\b|диспут\w*|претензи\w*|жалоб\w*|заявк\w* на возврат)"
_ES_OBJ = r"(?:disput\w*|reclam\w*|queja\w*|caso|solicitud de (?:reembolso|devolucion))\b"
_DE_OBJ = r"(?:streit\w*|disput\w*|reklamation\w*|beschwerde\w*|(?:rue?ck)?erstattungsantrag\w*)"
_DE_END = (r"\b(?:schlie?s?s|abschlies|storn|beend|abbrech|loe?sch|widerruf|annull|aufheb"
           r"|zurue?ck(?:zu)?(?:zieh|nehm))\w*")
# After the noun only infinitives count: "Streitfall storniert" is a report, not a request.
_DE_INF = (r"(?:zu )?(?:(?:ab)?schlie?s?sen|stornieren|beenden|abbrechen|loe?schen|widerrufen"
           r"|annullieren|aufheben|zurue?ck(?:zu)?(?:ziehen|nehmen))\b")

_PATTERNS: dict[Pressure, tuple[str, ...]] = {
    Pressure.CANCEL_DISPUTE: (
        _EN_END + " " + _fill("the your this that my our a an open opened current of", 3) + _EN_OBJ,
        r"\b(?:cancel|clos|withdr[ae]w)\w* (?:the |your |this |that )?case\b",
        _EN_OBJ + r" (?:please )?(?:cancel|close|withdraw)\b",  # machine word order: "dispute cancel pls"
        r"(?:if|after|once|when|as soon as|until) (?:you )?(?:have )?(?:cancel|clos|withdr[ae]w|retract)"
        + _NOT_ORDER,
        r"please (?:help (?:me |us )?)?(?:to )?(?:cancel|clos|withdr[ae]w|retract)" + _NOT_ORDER,
        r"\b(?:отмен|закр|сн[яи]|отоз|отзов|удал|прекрат)\w* "
        + _fill(r"ваш\w* этот эту свой свою пожалуйста открыт\w*", 2) + _RU_OBJ,
        _RU_OBJ + " " + _W3 + r"(?:отмените|закройте|снимите|отзовите|удалите|отмени|закрой|сними)\b",
        r"(?:после|если|как только|когда) (?:того как )?(?:вы |ты )?"
        r"(?:отмен|закро|закрыт|сним|сняти|отзов|отозв)\w*\b(?! заказ)",
        r"\b(?:cancel|cierr|cerr|retir|anul|elimin|quit)\w* "
        + _fill("la el tu su esta este esa ese de del", 3) + _ES_OBJ,
        r"(?:si|despues de|cuando|una vez que|luego de) (?:usted |tu )?"
        r"(?:cancel|cierr|cerr|retir|anul)\w*\b(?! (?:el |su |tu )?pedido)",
        _DE_END + " " + _fill("sie bitte den die das ihren ihre ihr diesen diese einen doch des der vom", 4)
        + "(?:" + _DE_OBJ + r"|fall\b)",
        _DE_OBJ + r" (?:\w+ ){0,4}?" + _DE_INF,
        r"(?:zieh|nehm|brech)\w* (?:\w+ ){0,4}?" + _DE_OBJ + r" (?:zurue?ck|ab)\b",  # separable verbs
        r"(?:wenn|sobald|nachdem) sie (?:ihn |es |das |den fall )?"
        r"(?:stornier|schliess|zurue?ckzieh|zurue?ckgezog|geschlossen|abbrech)\w*",
    ),
    Pressure.CONFIRM_RECEIPT: (
        # "we confirm receipt of your message" is the seller's own acknowledgement.
        r"(?<!we )(?<!i )confirm(?:ing|ation)? "
        + _fill("the your order orders goods item items product parcel package that you have has is was as it of", 4)
        + r"(?:receipt|rec(?:ei|ie|i)v\w*|delivered|arrived)\b",
        r"(?:click|press|tap|push)\w* (?:on )?(?:the )?(?:button )?confirm",
        # Imperatives only: "мы подтвердили заказ" is a shop's routine notice.
        r"подтверд(?:ите|ить|и) (?:\w+ ){0,2}?(?:получ\w*|доставку|вручение)",
        r"(?:подтвердите|подтвердить|подтверди) (?:ваш |свой )?заказ",
        r"получени\w* (?:\w+ ){0,2}?подтверд(?:ите|ить|и)\b",
        r"confirm(?:e|a|ar|es|en|ando) " + _fill("la el de que su tu ha has usted lo del pedido producto paquete", 4)
        + r"(?:recepcion|recibid|recibo|recibio|recibiste|entrega)\w*",
        r"(?:erhalt|empfang|lieferung|wareneingang|zustellung)\w* (?:\w+ ){0,2}?(?:zu )?bestae?tigen\b(?! wir)",
        r"(?<!wir )bestae?tig(?:en|e)? (?:sie )?(?:bitte )?(?:den |die |der |das )?(?:erhalt|empfang|wareneingang)",
        r"bestae?tig\w* sie (?:bitte )?dass sie (?:\w+ ){0,3}?(?:erhalten|empfangen)",
    ),
    Pressure.OFF_PLATFORM: (
        r"\b(?:pay ?pal|paypai|western ?union|money ?gram|bizum|skrill|payoneer|venmo|zelle|cash ?app)\b",
        r"\b(?:bank|wire) (?:transfer|account|details)|\b(?:account|card) number|\biban\b",
        r"\bgift ?cards?\b|\b(?:crypto\w*|bitcoin|btc|usdt|ethereum)\b|\b(?:we ?chat|weixin)\b",
        r"\b(?:via|by|through|using|with|to) (?:my |your )?alipay\b|\balipay transfer",
        r"outside (?:of )?(?:ali ?express|the platform|ali)\b",
        r"\b(?:пэйпал|пейпал|киви|qiwi|сбер\w*|тиньк\w*|юмани|yoomoney|вебмани|webmoney|вичат|биткоин|крипт\w*)",
        r"\bна (?:\w+ ){0,2}?(?:карт[уы]|счет|кошел\w*)\b|номер\w* (?:\w+ )?карт|реквизит|банковск\w* (?:счет|карт)",
        # Not bare "перевод": sellers apologise for their "переводчик" (translator).
        r"\bпереве(?:ду|дем|сти|дите)\b|\bперевод\w* (?:денег|средств|на|по|через)\b|вне (?:али|платформ)",
        r"transferencia|numero de (?:cuenta|tarjeta)|cuenta bancaria|tarjeta (?:de )?regalo",
        r"fuera de (?:aliexpress|la plataforma)|ausserhalb (?:von )?(?:ali ?express|der plattform)",
        r"ue?berweis\w*|bankverbindung|bankdaten|kontonummer|kontodaten|bankkonto|geschenkkarte|krypto\w*",
    ),
    # Words of a reward; they only count in a message that also asks for the
    # cancellation (see _REQUIRES), since "we will send a new one" alone is fine.
    # The lookarounds skip the refund that *is* the dispute ("cancel the refund request").
    Pressure.PROMISE_FOR_CANCEL: (
        r"\bre ?send\w*|\bsend\w* " + _W3 + r"(?:new|another|again|replacement)\b|\bnew one\b",
        r"\b(?:replacement|coupon|discount|voucher|compensat|gift|bonus|money back|reimburs)\w*",
        r"\brefund\w*\b(?! (?:request|application))|\b(?:give|return|pay) (?:you )?(?:\w+ )?(?:money|back)\b",
        r"(?:отправ|вышл|высл|пришл|перешл)\w* " + _W3 + r"(?:нов|ещ|повторн|заново|замен|друг)\w*",
        r"\bнов\w* (?:товар|посылк|заказ)|замен\w*|купон\w*|скидк\w*|промокод|(?<!на )возврат\w*|компенс\w*|подар\w*",
        r"верн\w* (?:\w+ ){0,2}?(?:деньг|средств|стоимост|оплат)|деньг\w* верн|\bпереве(?:ду|дем)\b",
        r"reenvi\w*|envi\w* " + _W3 + r"(?:otr[oa]|nuev\w*|de nuevo)|cupon|descuento|compensa\w*|regalo",
        r"(?<!solicitud de )(?:reembols\w*|devol\w*)|devuelv\w*",
        r"(?:send|schick)\w* " + _W3 + r"(?:neu\w*|erneut|nochmal)|ersatz\w*|gutschein\w*|rabatt\w*|geschenk",
        r"erstatt(?!ungsantrag)\w*|geld " + _W3 + r"zurue?ck|entschae?dig",
    ),
}
_REQUIRES = {Pressure.PROMISE_FOR_CANCEL: Pressure.CANCEL_DISPUTE}
_COMPILED = {kind: tuple(re.compile(p) for p in pats) for kind, pats in _PATTERNS.items()}


def inspect_seller_message(text: str) -> GuardFinding:
    """Which kinds of pressure ``text`` contains; empty finding when none."""
    normalized = _normalize(text)
    if not normalized:
        return GuardFinding()
    found = {kind for kind, pats in _COMPILED.items() if any(p.search(normalized) for p in pats)}
    found = {k for k in found if k not in _REQUIRES or _REQUIRES[k] in found}
    return GuardFinding(frozenset(found))


# The buyer asking how to win with a false claim (a counterfeit "not as described" to
# keep the item and the money, a fake "not received"). The bot never coaches that.
_FALSE_CLAIM = tuple(re.compile(p) for p in (
    r"\b(?:fake|false|lie|lying|pretend\w*|trick|cheat|scam|fool)\b.{0,60}\b(?:refund|money back|dispute|claim)",
    r"\b(?:refund|money back|dispute|claim)\b.{0,60}\b(?:lie|lying|pretend\w*|fake it|trick|cheat|fool)\b",
    r"\bkeep (?:the |my )?(?:item|product|goods|it)\b.{0,40}\b(?:and|plus|but) (?:get |also )?(?:a |the )?"
    r"(?:full )?refund",
    r"\b(?:обман|соврат|совру|наврат|схитр|развест|прикинут)\w*.{0,60}\b(?:возврат|деньг|спор)",
    r"\bоставить (?:себе )?товар\b.{0,40}\b(?:и|но) (?:вернуть|получить) деньги",
    r"\b(?:mentir|miento|enganar|fingir|finjo|trampa)\w*.{0,60}\b(?:reembolso|dinero|disputa)",
    r"\bquedarme (?:con )?(?:el|la) (?:producto|articulo|cosa)\b.{0,40}\by (?:el |un )?reembolso",
    r"\b(?:lugen|luge|schummeln|betrug\w*|vortauschen|tauschen|flunkern)\b.{0,60}\b(?:erstattung|geld|streit)",
    r"\b(?:ware|artikel|produkt) behalten\b.{0,40}\b(?:und|plus) (?:das )?(?:geld|erstattung|ruckerstattung)",
))


def asks_for_false_claim(text: str) -> bool:
    """True when the buyer asks for help with a dishonest claim."""
    normalized = _normalize(text)[:2000]
    return any(p.search(normalized) for p in _FALSE_CLAIM)
