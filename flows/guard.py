"""Spots seller pressure that would cost the buyer AliExpress's Buyer Protection.

Sellers ask buyers to cancel the dispute (a cancelled one cannot be reopened),
to confirm receipt early, or to take money outside the platform, often for a
promised new item or refund; they also ask buyers not to open a dispute and to
wait "N more days" (while the Buyer Protection timer runs), or offer a refund
for a 5-star review. Each kind and its source: see docs/rules.md. The bot runs
every seller message it sees through ``inspect_seller_message`` and warns at
once when the finding is alarming.

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
    DELAY_DISPUTE = "delay_dispute"            # don't open a dispute / wait N more days
    REVIEW_FOR_REFUND = "review_for_refund"    # a good review in exchange for the money


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
_STARS = re.compile("[\u2605\u2606\u2b50\U0001f31f]+")  # ★ ☆ ⭐ 🌟: "5⭐" reads "5 stars"


def _normalize(text: str) -> str:
    s = unicodedata.normalize("NFKC", text or "")
    s = _STARS.sub(" stars ", s).casefold().translate(_FOLD)
    s = re.sub(r"[\W_]+", " ", s).strip()  # "don't"→"don t", "re-send"→"re send"
    return _SMS_RE.sub(lambda m: _SMS[m.group()], s)


def _fill(words: str, most: int) -> str:
    """Up to `most` of the given small words, e.g. articles between a verb and its noun."""
    return "(?:(?:" + "|".join(words.split()) + ") ){0," + str(most) + "}"


_W3 = r"(?:\w+ ){0,3}?"  # up to three arbitrary words, lazily
# English: a verb that ends a dispute, its object, and what may sit between.
_EN_END = (r"\b(?:cancel|clos|withdr[ae]w|retract|revok|remov|delet|drop|finish|stop|terminat"
           r"|end(?=(?:s|ed|ing)?\b))\w*")
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

_NOT_STATUS = r"(?<!is )(?<!was )(?<!are )(?<!been )(?<!be )(?<!will )(?<!it )"
# "Please confirm the order details / colour / address" asks about the order, not its receipt.
_NOT_DETAILS = (r"(?! (?:\w+ )?(?:detail|address|info|colou?r|size|number|quantit|option|model|spec|variant"
                r"|content|before|first|detall|direcc|talla|modelo|numero|antes|adress|farbe|groe?sse|daten))")
# "Don't open a dispute", "wait N more days": waiting while the Buyer Protection timer runs.
_EN_OPEN = r"(?:open|opening|start|starting|file|filing|make|making|raise|raising|creat\w*|submit\w*|apply\w*)"
_EN_NUM = r"(?:(?:\d+ ){1,2}|(?:a )?(?:few|couple|couple of|one|two|three|five|seven|ten|fifteen|twenty|thirty) )?"
_RU_OPEN = (r"(?:открыва\w*|открой\w*|откройте|открыть|начина\w*|начать|подава\w*|подать|оформля\w*|оформить"
            r"|созда(?:ва)?\w*)")
_ES_OPEN = (r"(?:abr(?:a|as|an|ir|e)|abrirla|inici(?:e|es|en|ar)|present(?:e|es|en|ar)|pong(?:a|as|an)|poner"
            r"|cre(?:e|es|en|ar)|hag(?:a|as|an)|hacer)")
_DE_OPEN = r"(?:er)?oe?ffnen"
_GIVE_US = r"\b(?:wait\w*|give (?:us|me|it)|allow (?:us|me))"
# Words that may sit between the negation and "open": "don't hurry to open", "не надо открывать".
_DELAY_FILL = "please|need to|have to|hurry to|rush to|to|yet|immediately|now|so fast|so quickly|be in a hurry to"
_RU_FILL = "надо|нужно|стоит|спешите|торопитесь|спеши|торопись|пока|сразу|сейчас|пожалуйста|надо было"
_ES_FILL = ("es necesario|hace falta|se apresure a|te apresures a|tiene que|tienes que|necesita|necesitas|hay que"
            "|todavia|aun|por favor|le pedimos|te pedimos")
_DE_FILL = "gleich|sofort|direkt|einfach|vorschnell|bitte|so schnell|jetzt|noch"

_PATTERNS: dict[Pressure, tuple[str, ...]] = {
    Pressure.CANCEL_DISPUTE: (
        _EN_END + " " + _fill("the your this that my our a an open opened current of", 3) + _EN_OBJ,
        r"\b(?:cancel|clos|withdr[ae]w)\w* (?:the |your |this |that )?case\b",
        _EN_OBJ + r" (?:please )?(?:cancel|close|withdraw)\b",  # machine word order: "dispute cancel pls"
        r"(?:if|after|once|when|as soon as|until) (?:you )?(?:have )?(?:cancel|clos|withdr[ae]w|retract)"
        + _NOT_ORDER,
        r"please (?:help (?:me |us )?)?(?:to )?(?:cancel|clos|withdr[ae]w|retract)" + _NOT_ORDER,
        r"\b(?:отмен|закр|сн[яи]|отоз|отзов|удал|прекрат|заверш|законч)\w* "
        + _fill(r"ваш\w* этот эту свой свою пожалуйста открыт\w*", 2) + _RU_OBJ,
        _RU_OBJ + " " + _W3 + r"(?:отмените|закройте|снимите|отзовите|удалите|отмени|закрой|сними)\b",
        r"(?:после|если|как только|когда) (?:того как )?(?:вы |ты )?"
        r"(?:отмен|закро|закрыт|сним|сняти|отзов|отозв)\w*\b(?! заказ)",
        r"\b(?:cancel|cierr|cerr|retir|anul|elimin|quit|finaliz|finalic|termin)\w* "
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
        # "Mark the order as received" / "confirm the order" (docs/rules.md, "Seller pressure") are the same button.
        # Only the imperative: "the tracking is marked as delivered" is a status.
        _NOT_STATUS + r"\bmark (?:\w+ ){0,3}?(?:as )?(?:received|delivered|complete[d]?|finished|done)\b",
        r"(?<!we )(?<!i )(?<!will )\bconfirm (?:the |your |this |ur )?order\b" + _NOT_DETAILS,
        r"\bотмет(?:ьте|ить|ь) (?:\w+ ){0,3}?(?:как )?(?:получ|доставл|выполн|заверш)\w*",
        r"\b(?:подтвердите|подтвердить|подтверди|закройте|закрыть|закрой|завершите|завершить) "
        r"(?:пожалуйста )?(?:ваш |свой |этот )?заказ\b",
        r"\b(?:marque\w*|marcar\w*|marcalo|marcala|(?:por favor|porfa) marca) (?:\w+ ){0,3}?como "
        r"(?:recibid|entregad|complet|finaliz)\w*",
        r"\b(?:confirme|confirmen|confirmar|finalice|finalizar|complete) (?:por favor )?(?:el |su |tu )?pedido\b"
        + _NOT_DETAILS,
        r"\bmarkier\w* (?:sie )?(?:bitte )?(?:\w+ ){0,3}?als (?:erhalten|geliefert|empfangen|zugestellt|abgeschlossen)"
        r"|\bals (?:erhalten|geliefert|empfangen|abgeschlossen) (?:zu )?markieren\b",
        r"(?<!wir )\bbestae?tig(?:en|e)? (?:sie )?(?:bitte )?(?:die |ihre |diese )?bestellung\b" + _NOT_DETAILS,
        r"\bbestellung (?:bitte )?(?:zu )?bestae?tigen\b(?! wir)",
        # "It was delivered, please check and confirm": a bare "confirm" after the delivery news.
        r"\b(?:delivered|arrived|received|signed)\b (?:\w+ ){0,6}?(?:check and )?confirm(?: it)?"
        r"(?= thank| thx| dear| friend| please|$)",
        r"\b(?:доставлен|получен|пришл|пришел|вручен)\w* (?:\w+ ){0,6}?(?:проверьте и )?подтвердите"
        r"(?= спасибо| пожалуйста|$)",
        r"\b(?:entregad|llego|recibid)\w* (?:\w+ ){0,6}?(?:revise y |reviselo y )?confirme(?:lo)?"
        r"(?= gracias| por favor|$)",
        r"\b(?:zugestellt|geliefert|angekommen)\b (?:\w+ ){0,6}?(?:pru?e?fen und )?bestae?tigen(?: sie)?(?: es)?"
        r"(?= danke| bitte|$)",
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
        r"\bre ?send\w*|\b(?:send|ship)\w* " + _W3 + r"(?:new|another|again|replacement)\b|\bnew one\b",
        r"\b(?:replacement|coupon|discount|voucher|compensat|gift|bonus|money back|reimburs)\w*",
        r"\brefund\w*\b(?! (?:request|application))|\b(?:give|return|pay) (?:you )?(?:\w+ )?(?:money|back)\b",
        r"(?:отправ|вышл|высл|пришл|перешл)\w* " + _W3 + r"(?:нов|ещ|повторн|заново|замен|друг)\w*",
        r"\bнов\w* (?:товар|посылк|заказ)|замен\w*|купон\w*|скидк\w*|промокод|(?<!на )возврат\w*|компенс\w*|подар\w*",
        r"верн\w* (?:\w+ ){0,2}?(?:деньг|средств|стоимост|оплат)|деньг\w* верн|\bпереве(?:ду|дем)\b",
        r"reenvi\w*|envi\w* " + _W3 + r"(?:otr[oa]|nuev\w*|de nuevo)|cupon|descuento|compensa\w*|regalo|reemplaz\w*",
        r"(?<!solicitud de )(?:reembols\w*|devol\w*)|devuelv\w*",
        r"(?:send|schick)\w* " + _W3 + r"(?:neu\w*|erneut|nochmal)|ersatz\w*|gutschein\w*|rabatt\w*|geschenk",
        r"erstatt(?!ungsantrag)\w*|geld " + _W3 + r"zurue?ck|entschae?dig",
    ),
    # Not opening (or not yet) and waiting longer: "we'll send again, don't open a dispute",
    # "please wait 15 more days". "Please be patient" or "wait 10 days for tracking" alone is not it.
    Pressure.DELAY_DISPUTE: (
        # The negation governs the opening itself: "if it does not arrive, open a dispute" is the opposite.
        r"\b(?:don t|do not|dont|never|no need to|not to|please not) (?:(?:" + _DELAY_FILL + r") ){0,3}" + _EN_OPEN
        + r" " + _fill("a an the any this your new", 2) + _EN_OBJ,
        r"\b(?:don t|do not|dont|not|no need to) (?:\w+ ){0,3}?(?:hurry|rush)\w* (?:\w+ ){0,3}?" + _EN_OBJ,
        r"\b(?:please|kindly) no (?:disput|claim|complaint)|\bno (?:disput|claim|complaint)\w* please\b",
        _GIVE_US + r" (?:\w+ ){0,4}?(?:more|another|extra|additional|other) " + _EN_NUM
        + r"(?:\w+ )?(?:days?|weeks?|time)\b",
        r"\bwait\w* (?:\w+ ){0,4}?(?:days?|weeks?) (?:more|longer)\b",
        r"\bне (?:(?:" + _RU_FILL + r") ){0,3}" + _RU_OPEN + r" (?:\w+ ){0,2}?" + _RU_OBJ,
        _RU_OBJ + r" (?:\w+ )?не (?:надо |нужно |стоит )?" + _RU_OPEN,
        r"\b(?:подожд|ожида|жди|жд[её]м|дайте|дай|потерп)\w* (?:\w+ ){0,3}?ещ[её] (?:\w+ ){0,2}?"
        r"(?:дн[яейь]\w*|день|недел\w*|времени)",
        r"\bno (?:(?:" + _ES_FILL + r") ){0,3}" + _ES_OPEN + r" " + _fill("una un la el ninguna ningun otra su tu", 2)
        + _ES_OBJ,
        r"\b(?:esper\w*|aguard\w*|denos|deme|danos|dame|darnos|darme)\b (?:\w+ ){0,4}?"
        r"(?:(?:dias|semanas?|tiempo) mas\b|mas (?:dias|tiempo)\b|otr[oa]s? (?:\w+ )?(?:dias|semanas?)\b)",
        r"\b" + _DE_OPEN + r" sie (?:bitte )?(?:noch )?(?:keine?n?|nicht) (?:\w+ ){0,2}?(?:" + _DE_OBJ + r"|fall\b)",
        r"\bkeine?n? (?:\w+ ){0,2}?(?:" + _DE_OBJ + r"|fall) (?:\w+ ){0,2}?(?:zu )?" + _DE_OPEN + r"\b",
        r"\bnicht (?:(?:" + _DE_FILL + r") ){0,3}(?:einen |eine |den |die )?(?:" + _DE_OBJ + r"|fall) (?:zu )?"
        + _DE_OPEN + r"\b",
        _DE_OBJ + r" (?:\w+ ){0,2}?nicht (?:zu )?" + _DE_OPEN + r"\b",
        r"\b(?:wart\w*|gedulde\w*|geben sie (?:uns|mir)) (?:\w+ ){0,3}?noch (?:\w+ ){0,2}?(?:tage?n?|wochen?|zeit)\b",
        r"\bnoch (?:\w+ ){0,2}?(?:tage?n?|wochen?) (?:\w+ )?(?:warten|gedulden)\b",
    ),
}
_REQUIRES = {Pressure.PROMISE_FOR_CANCEL: Pressure.CANCEL_DISPUTE}
_COMPILED = {kind: tuple(re.compile(p) for p in pats) for kind, pats in _PATTERNS.items()}

# A refund (or money) traded for a good review: "5 stars and we refund", "we refund after you
# leave positive feedback". Both halves must sit close together, linked as a deal: "if you are
# happy leave 5 stars; if there is a problem we refund" is the shop's routine formula, not a deal.
_REVIEW = "(?:" + "|".join((
    r"\b(?:[45]|five|four|пять|cinco|funf) ?(?:stars?|звезд\w*|estrellas?|sterne?n?)\b",
    r"\b(?:good|positive|nice|great|best|high|excellent|perfect|full) (?:\w+ )?(?:feedback|review|rating|comment"
    r"|evaluation|score)s?\b",
    r"\b(?:remove|delete|change|modify|update|edit) (?:\w+ ){0,3}?(?:feedback|review|rating|comment|evaluation)s?\b",
    r"\b(?:хорош|положительн|отличн|высок|пятизвездочн)\w* (?:\w+ )?(?:отзыв|оценк|комментари|рейтинг)\w*",
    r"\b(?:удал|измен|исправ|поменя)\w* (?:\w+ ){0,2}?(?:отзыв|оценк)\w*|\bоценк\w* 5\b|\bпоставьте (?:нам )?5\b",
    r"\b(?:buen[ao]?|positiv[ao]|excelente|mejor) (?:valoracion|opinion|resena|comentario|calificacion|evaluacion"
    r"|feedback)\w*",
    r"\b(?:valoracion|opinion|resena|comentario|calificacion|evaluacion|feedback)\w* (?:positiv|buen|excelent"
    r"|de 5|de cinco)\w*",
    r"\b(?:elimin|borr|cambi|modific|quit)\w* (?:\w+ ){0,3}?(?:valoracion|opinion|resena|comentario"
    r"|calificacion)\w*",
    r"\b(?:gut|positiv|ausgezeichnet|top)\w* (?:bewertung|rezension|feedback|kommentar|beurteilung)\w*",
    r"\b(?:bewertung|rezension|feedback)\w* (?:\w+ ){0,3}?(?:ae?ndern|loe?schen|entfernen)\b",
)) + ")"
_MONEY = "(?:" + "|".join((
    r"\brefund\w*\b(?! (?:request|application|is|was|has|have|had|been)\b)|\bmoney back\b|\breimburs\w*"
    r"|\bcompensat\w*",
    r"\b(?:return|give|pay|send|transfer)\w* (?:you )?(?:back )?(?:the |your |some |a )?(?:money|cash|\d+)",
    r"\bвозврат\w*|\bверн\w* (?:\w+ ){0,2}?(?:деньг|средств|стоимост|оплат|\d)\w*|\bденьг\w* (?:\w+ )?верн\w*"
    r"|\bкомпенс\w*|\bверн[её]м\b|\bвозмест\w*",
    r"\breembols\w*|\bdevol\w*|\bdevuelv\w*|\bcompensa\w*"
    r"|\b(?:damos|daremos|pagamos|pagaremos) (?:\w+ )?(?:dinero|\d+)",
    r"\b(?:rue?ck)?erstatt\w*|\bgeld (?:\w+ ){0,3}?zurue?ck\b|\bentschae?dig\w*|\brue?ckzahl\w*",
)) + ")"
# A word that breaks the deal: a condition or a problem ("if", "problem", "satisfied").
_NO_DEAL = (r"(?!(?:if|problem\w*|satisf\w*|issue\w*|happy|unhappy|question\w*|если|проблем\w*|доволь\w*|вопрос\w*"
            r"|si|problema\w*|satisfech\w*|contento|wenn|falls|zufrieden|fragen?)\b)")
_THEN = (r"(?:after|once|when|if|for|as soon as|in exchange for|после|если|когда|как только|за|в обмен на"
         r"|despues de|si|cuando|una vez|por|a cambio de|tras|nach|wenn|sobald|fur|gegen|nachdem)")
_REVIEW_DEAL = tuple(re.compile(p) for p in (
    _REVIEW + r" (?:" + _NO_DEAL + r"\w+ ){0,6}?" + _MONEY,
    _MONEY + r" (?:\w+ ){0,5}?" + _THEN + r" (?:\w+ ){0,3}?" + _REVIEW,
))


def inspect_seller_message(text: str) -> GuardFinding:
    """Which kinds of pressure ``text`` contains; empty finding when none."""
    normalized = _normalize(text)
    if not normalized:
        return GuardFinding()
    found = {kind for kind, pats in _COMPILED.items() if any(p.search(normalized) for p in pats)}
    found = {k for k in found if k not in _REQUIRES or _REQUIRES[k] in found}
    if any(p.search(normalized) for p in _REVIEW_DEAL):
        found.add(Pressure.REVIEW_FOR_REFUND)
    return GuardFinding(frozenset(found))


# The buyer asking how to win with a false claim: lying, faking evidence, saying it never
# arrived when it did. The bot never coaches that. Keeping a broken item and asking for the
# money back is no such thing: it is "Refund only" (docs/rules.md, "Seller pressure"), so "keep"
# and "refund" together prove nothing. What does: the buyer's own intent to deceive ("can I
# lie", "how to fake", "a fake claim") or a claim against the buyer's own facts ("say it
# never arrived even though I got it"). "The seller lied" / "it's a fake, refund?" are honest.
_EN_INTENT = (r"(?:\b(?:can|could|should|may|shall|do|will|would|must) (?:i|we)|\bhow (?:(?:do|can|could|should"
              r"|would) (?:i|we)|to)|\bi (?:will|ll|can|could|want to|wanna|am going to|m going to|gonna"
              r"|plan to|might|d like to|would like to|need to)|\bhelp (?:me|us)(?: to)?|\b(?:ok|okay|possible|fine"
              r"|allowed|legal|wrong|bad|better|smart|safe) to|\bif (?:i|we)|\blet s|\blets|\bway to)"
              r" (?:just |simply |maybe |also |then |still )?")
_EN_NOT_RECEIVED = (r"(?:never (?:arrived|came|got here|received|delivered|got it)|not (?:arrived|received|delivered"
                    r"|come)|didn t (?:arrive|come|get|receive)|did not (?:arrive|come|get|receive)|wasn t delivered"
                    r"|hasn t arrived|has not arrived|got lost|was lost|is lost)")
_EN_SAY = r"\b(?:i|we|to) (?:\w+ ){0,2}?(?:say|claim|tell \w+|write|pretend|report|state|act like|act as if)\b"
# Between "say" and "never arrived": not a part of the order ("say the rest never arrived" is a true claim).
_EN_GAP = r"(?:(?!rest\b|others?\b|second\b|remaining\b|half\b|part\b|one\b|some\b|missing\b)\w+ ){0,4}?"
_RU_GAP = r"(?:(?!остальн|част|половин|втор|друг|один\b|одна\b|одно\b|некотор)\w+ ){0,4}?"
_ES_GAP = r"(?:(?!resto\b|demas\b|otr[oa]s?\b|parte\b|mitad\b|uno\b|una\b|algun)\w+ ){0,4}?"
_DE_GAP = r"(?:(?!rest\b|ander\w*|teil\w*|halfte\b|einer\b|eines\b|zweit\w*|manche\w*)\w+ ){0,5}?"
_EN_BUT_GOT = (r"\b(?:even though|although|though|even if|when (?:in fact|actually|really)|but (?:actually|really"
               r"|in fact)?|despite|while) (?:i |we )?(?:actually |already |really |did |do |in fact )?"
               r"(?:got|received|have|picked up|collected) (?:it|them|the \w+|my \w+|both|everything)\b")
_RU_INTENT = (r"\b(?:как|можно ли|можно|могу ли|могу|хочу|помогите|помоги|стоит ли|если я|если|надо ли|нужно ли"
              r"|лучше|давайте|я)\b (?:\w+ ){0,2}?")
_RU_NOT_RECEIVED = (r"(?:не (?:пришел|пришла|пришло|пришли|дошел|дошла|дошло|дошли|получ\w*|доставлен\w*|приходил\w*)"
                    r"|потерял\w*|потеряли)")
_RU_SAY = (r"\b(?:написать|напишу|сказать|скажу|указать|укажу|заявить|заявлю|выбрать|выберу|сделать вид"
           r"|притвориться|прикинуться|утверждать|соврать)\b")
_RU_BUT_GOT = (r"\b(?:хотя|а на самом деле|но на самом деле|хотя на самом деле|но) (?:я |мы )?"
               r"(?:(?:его|ее|их|уже|на самом деле|все таки|все же) )*(?:получил\w*|забрал\w*)"
               r"|\bхотя (?:он|она|оно|они|посылка|товар|заказ) (?:уже )?(?:пришел|пришл\w*|дошел|дошл\w*)")
_ES_INTENT = (r"\b(?:puedo|podria|podemos|como|debo|deberia|quiero|ayudame a|ayudeme a|si|es posible|se puede"
              r"|vale la pena|conviene|mejor)\b (?:\w+ ){0,2}?")
_ES_NOT_RECEIVED = (r"(?:no (?:me )?(?:llego|ha llegado|llegaron|recibi|he recibido|lo recibi|la recibi|lo he recibido)"
                    r"|nunca (?:me )?(?:llego|lo recibi|la recibi|recibi|lo he recibido)|se perdio|se extravio)")
_ES_SAY = (r"\b(?:decir|digo|diga|poner|pongo|reclamar|fingir|finjo|alegar|escribir|escribo|afirmar|marcar|marco"
           r"|aparentar|hacer como)\b")
_ES_BUT_GOT = (r"\b(?:aunque|pero|a pesar de que|si bien|cuando en realidad|cuando|y en realidad) "
               r"(?:(?:ya|si|en realidad|realmente|yo) )*(?:lo |la |los |las )?(?:recibi|tengo|recogi|me llego)\b")
_DE_INTENT = (r"\b(?:kann|konnte|soll|sollte|darf|will|mochte|wie|hilf mir|helfen sie mir|ist es ok|wenn ich"
              r"|was wenn ich)\b (?:(?!mich\b|uns\b)\w+ ){0,3}?")
_DE_NOT_RECEIVED = (r"(?:nie|nicht|niemals) (?:\w+ ){0,2}?(?:angekommen|erhalten|bekommen|geliefert|zugestellt"
                    r"|eingetroffen)")
_DE_SAY = r"\b(?:sag|sage|sagen|behaupten|behaupte|schreiben|schreibe|angeben|vortauschen|so tun)\b"
_DE_BUT_GOT = (r"\b(?:obwohl|obgleich|dabei|wobei|aber|trotzdem|wahrend) (?:ich |wir )?"
               r"(?:(?:habe|hab|es|sie|ihn|das paket|die ware|den artikel|doch|schon|eigentlich|tatsachlich|ja"
               r"|bereits) ){0,4}(?:bekommen|erhalten|empfangen|abgeholt)\b"
               r"|\bobwohl ich (?:es|sie|ihn) (?:doch |ja |schon )*habe\b")
_FALSE_CLAIM = tuple(re.compile(p) for p in (
    # English: "can I lie", "how to fake the photos", "help me trick the seller".
    _EN_INTENT + r"(?:lie|fib|pretend|fake|cheat|trick|fool|scam|deceive|make up|invent|exaggerate|bluff)\b",
    _EN_INTENT + r"(?:\w+ ){0,3}?(?:fake|false|bogus|fraudulent|made up|fictitious) (?:claim|dispute|complaint|report"
    r"|damage|defect|photo|picture|evidence|tracking|reason|video)s?\b",
    # "Can I say it's a fake brand to get a refund": a claim chosen as a tactic.
    r"\b(?:can|could|should|shall) (?:i|we) (?:just )?(?:say|claim|tell \w+) (?:that )?(?:\w+ ){0,8}?"
    r"(?:so (?:that )?(?:i|we) (?:can )?|to |in order to )(?:get|receive|have|keep) (?:(?:a|my|the|full|some|back) )*"
    r"(?:refund|money)\b",
    # A claim against the buyer's own facts, in either order.
    _EN_SAY + r" " + _EN_GAP + _EN_NOT_RECEIVED + r"\b.{0,40}?" + _EN_BUT_GOT,
    r"\b(?:got|received|have|picked up) (?:it|them|everything|(?:the|my) (?:package|parcel|item|order|goods|product))\b"
    r".{0,60}?" + _EN_SAY + r" " + _EN_GAP + _EN_NOT_RECEIVED,
    _EN_SAY + r" (?:that )?(?:it|they|the \w+) (?:is|was|s|are|were|arrived|came) (?:\w+ )?(?:broken|damaged"
    r"|defective|faulty|fake|not working|different|wrong|used)\b.{0,40}?\b(?:even though|although|though|but|when"
    r"|while) (?:it|they|the \w+) (?:is |s |was |are |arrived |came )?(?:actually |really |still |totally "
    r"|perfectly )?(?:works?|working|fine|ok|okay|perfect|original|intact)\b",
    # Russian
    _RU_INTENT + r"(?:обмануть|соврать|наврать|схитрить|развести|прикинуться|притвориться|солгать|приврать|обману"
    r"|совру|навру|солгу|притворюсь|прикинусь|сделать вид|соврем|обманем|выдумать|наврем|подделать|подделаю"
    r"|преувеличить|преувеличу)\b(?! (?:меня|нас)\b)",
    _RU_INTENT + r"(?:\w+ ){0,3}?(?:ложн|фейков|фальшив|липов)\w* (?:спор|претензи|жалоб|доказательств|фото"
    r"|скриншот)\w*",
    _RU_SAY + r" " + _RU_GAP + _RU_NOT_RECEIVED + r"\b.{0,40}?" + _RU_BUT_GOT,
    r"\b(?:получил\w*|забрал\w*) (?:(?!не\b)\w+ ){0,6}?" + _RU_SAY + r" " + _RU_GAP + _RU_NOT_RECEIVED,
    _RU_SAY + r" (?:что )?(?:\w+ ){0,2}?(?:сломан|брак|поврежд|не работает|подделк|неисправ)\w*\b.{0,30}?\bхотя "
    r"(?:\w+ ){0,2}?(?:работает|цел\w*|в порядке|нормальн\w*|оригинал\w*)",
    # Spanish
    _ES_INTENT + r"(?:mentir|mentirle|enganar|enganarle|enganarlos|fingir|inventar|inventarme|hacer trampa|estafar"
    r"|simular|aparentar|timar|miento|finjo|falsificar|exagerar)\b",
    _ES_INTENT + r"(?:\w+ ){0,3}?(?:disputa|reclamo|reclamacion|queja|foto|prueba|denuncia)s? (?:fals|inventad"
    r"|trucad)\w*",
    _ES_SAY + r" " + _ES_GAP + _ES_NOT_RECEIVED + r"\b.{0,40}?" + _ES_BUT_GOT,
    r"\b(?:lo |la )?(?:recibi|tengo)\b (?:(?!no\b)\w+ ){0,6}?" + _ES_SAY + r" " + _ES_GAP + _ES_NOT_RECEIVED,
    _ES_SAY + r" (?:que )?(?:\w+ ){0,2}?(?:roto|rota|danad\w*|defectuos\w*|falso|falsa|no funciona)\b.{0,30}?"
    r"\b(?:aunque|pero|cuando) (?:\w+ )?(?:funciona|esta bien|esta perfect\w*|es original|llego bien)",
    # German
    _DE_INTENT + r"(?:lugen|anlugen|schummeln|betrugen|vortauschen|flunkern|schwindeln|erfinden|so tun"
    r"|bescheissen|reinlegen|austricksen|tricksen|ubertreib\w*)\b",
    r"\bich luge\b",  # not the noun: "wie beweise ich die Lüge des Verkäufers" is honest
    r"\b(?:fotos?|bilder?|beweise?|belege?|screenshots?|sendungsverfolgung) (?:\w+ ){0,2}?(?:zu )?falschen\b",
    _DE_INTENT + r"(?:den verkaufer|aliexpress|ali|das system|ihn) (?:\w+ )?tauschen\b",
    _DE_INTENT + r"(?:\w+ ){0,3}?(?:falsch|gefalscht|erfunden|fake)\w* (?:streit|reklamation|beschwerde|foto|bild"
    r"|beweis|angabe)\w*",
    _DE_SAY + r" " + _DE_GAP + _DE_NOT_RECEIVED + r"\b.{0,40}?" + _DE_BUT_GOT,
    r"\b(?:es|sie|ihn|das paket|die ware|den artikel) (?:(?!nicht\b|nie\b|niemals\b)\w+ ){0,2}?(?:bekommen|erhalten"
    r"|abgeholt)\b (?:(?!nicht\b|nie\b|kein\w*)\w+ ){0,6}?" + _DE_SAY + r" " + _DE_GAP + _DE_NOT_RECEIVED,
    _DE_SAY + r" (?:\w+ ){0,4}?(?:kaputt|defekt|beschae?digt|gefae?lscht|eine fae?lschung)\b.{0,30}?\b(?:obwohl|aber"
    r"|dabei) (?:\w+ ){0,2}?(?:funktioniert|in ordnung|einwandfrei|ganz|heil|original)\b",
))


def asks_for_false_claim(text: str) -> bool:
    """True when the buyer asks for help with a dishonest claim."""
    normalized = _normalize(text)[:2000]
    return any(p.search(normalized) for p in _FALSE_CLAIM)
