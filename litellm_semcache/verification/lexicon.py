"""Word lists for the contrast guard, as data: stop and filler words, negations, number words, antonym
pairs, contrastive prefixes, synonyms, person words, and names users type in lower case.

General English, not fitted to any test set. Extend here, not in the guard's logic.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = [
    "ANTONYMS",
    "FILLER",
    "GAZETTEER",
    "NEGATION",
    "NEG_PREFIXES",
    "NEUTRAL_BETWEEN",
    "NOT_UNITS",
    "NUMBER_WORDS",
    "ORDINALS",
    "PERSON",
    "POSSESSIVE",
    "STOP",
    "SWAP_PREFIXES",
    "SYNONYMS",
    "tokens",
]

_CONTRACTIONS: list[tuple[str, str | Callable[[re.Match[str]], str]]] = [
    (r"\bcan't\b", "can not"),
    (r"\bcannot\b", "can not"),
    (r"\bwon't\b", "will not"),
    (r"\bshan't\b", "shall not"),
    (r"\bain't\b", "is not"),
    (r"n't\b", " not"),
    (r"'re\b", " are"),
    (r"'m\b", " am"),
    (r"'ll\b", " will"),
    (r"'ve\b", " have"),
    (r"'d\b", " would"),
    (r"\b(what|where|who|how|when|why|that|there|it|here|he|she)'s\b", r"\1 is"),
    (r"'s\b", " s"),
    # common apostrophe-less informal forms
    (
        r"\b(dont|doesnt|didnt|isnt|arent|wasnt|werent|havent|hasnt|hadnt|wont|wouldnt|shouldnt|couldnt|cant)\b",
        lambda m: {
            "dont": "do not",
            "doesnt": "does not",
            "didnt": "did not",
            "isnt": "is not",
            "arent": "are not",
            "wasnt": "was not",
            "werent": "were not",
            "havent": "have not",
            "hasnt": "has not",
            "hadnt": "had not",
            "wont": "will not",
            "wouldnt": "would not",
            "shouldnt": "should not",
            "couldnt": "could not",
            "cant": "can not",
        }[m.group(1)],
    ),
    (r"\bwhats\b", "what is"),
    (r"\bhows\b", "how is"),
    (r"\bwheres\b", "where is"),
]
_CONTRACTION_PATTERNS = [(re.compile(p), r) for p, r in _CONTRACTIONS]
_TOKEN = re.compile(r"\d+(?:[.,:/]\d+)*|[a-z]+\d*[a-z\d]*")


# function words: ignored for the content-word comparison (contrast words are handled by the dedicated checks)
STOP = frozenset(
    """
a an the is are was were be been being am do does did doing have has had having will would shall should can could
may might must i me my mine myself we us our ours you your yours yourself he him his she her it its they them their
this that these those there here what which who whom whose when where why how if then so just also too very really
please thanks thank of to into in on at by for from with about as than and or but vs versus s any some all each
every get got getting give tell know want wanted need needed like would much many more most there's okay ok hi hello hey
way ways one using use used make made let lets show find out up off over please best good
""".split()
)
# NB: 'one', 'out', 'up', 'off', 'over', 'more', 'most', 'best', 'good' are stop words for the *content* bag; the
# number / antonym checks look at them separately.


NEGATION = frozenset(
    {
        "not",
        "no",
        "never",
        "without",
        "none",
        "nobody",
        "nothing",
        "nowhere",
        "neither",
        "nor",
        "non",
        "unable",
        "lack",
        "lacking",
    }
)


NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero _one_ two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
}
NUMBER_WORDS.update(
    {
        "thirty": "30",
        "forty": "40",
        "fifty": "50",
        "sixty": "60",
        "seventy": "70",
        "eighty": "80",
        "ninety": "90",
        "hundred": "100",
        "thousand": "1000",
        "million": "1e6",
        "billion": "1e9",
        "dozen": "12",
        "half": "0.5",
        "quarter": "0.25",
        "twice": "2x",
        "double": "2x",
        "triple": "3x",
    }
)
ORDINALS = {
    w: str(i + 1) + "th"
    for i, w in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split()
    )
}


# antonym lexicon (general English pairs; symmetric). Used for labelling and for function-word antonyms.
_ANTONYM_PAIRS = """
min max minimum maximum minimize maximize minimise maximise minimal maximal increase decrease add remove before after
upload download import export encrypt decrypt best worst cheapest expensive cheap expensive first last start stop
open close opened closed advantages disadvantages advantage disadvantage pros cons hot cold hottest coldest warm cool
enable disable enabled disabled on off in out up down high low higher lower highest lowest raise lower rise fall
large small larger smaller largest smallest big small bigger smaller biggest smallest long short longer shorter
longest shortest fast slow faster slower fastest slowest old new older newer oldest newest old young oldest youngest
heavy light heavier lighter heaviest lightest lock unlock install uninstall ascending descending push pull
merge split gain lose win lose buy sell send receive deposit withdraw credit debit income expense import export
inbound outbound incoming outgoing internal external north south northern southern northernmost southernmost
east west eastern western left right true false positive negative accept reject allow deny approve decline
include exclude inside outside above below more less most least many few plus minus sunrise sunset
morning evening day night summer winter spring autumn strengths weaknesses strength weakness benefits drawbacks
bull bear login logout sign_in sign_out zoom_in zoom_out speed_up slow_down turn_on turn_off connect disconnect
mount unmount subscribe unsubscribe follow unfollow block unblock hide show visible hidden public private
arrive depart arrival departure entry exit enter exit import export overwatering underwatering overestimate
underestimate overweight underweight boiling freezing melting freezing rich poor wet dry full empty early late
earliest latest easy hard easiest hardest simple complex safe dangerous legal illegal healthy unhealthy
common rare commonest rarest closest farthest nearest furthest near far cause effect pro anti
""".split()
ANTONYMS: dict[str, set[str]] = {}
for _a, _b in zip(_ANTONYM_PAIRS[::2], _ANTONYM_PAIRS[1::2], strict=True):
    ANTONYMS.setdefault(_a, set()).add(_b)
    ANTONYMS.setdefault(_b, set()).add(_a)


# contrastive prefixes (negating, or swapped pairs): w vs prefix+w, or p1+stem vs p2+stem
NEG_PREFIXES = ("un", "dis", "non", "in", "im", "il", "ir", "de", "anti", "mis")
SWAP_PREFIXES = [
    ("en", "de"),
    ("im", "ex"),
    ("in", "ex"),
    ("up", "down"),
    ("over", "under"),
    ("in", "de"),
    ("north", "south"),
    ("east", "west"),
    ("max", "min"),
    ("in", "out"),
    ("pre", "post"),
    ("inc", "dec"),
    ("sub", "super"),
    ("under", "over"),
]


# small synonym / abbreviation table (applied after stemming); a pair listed here is *not* a substitution
_SYNONYM_GROUPS = [
    "buy purchase",
    "big large huge",
    "biggest largest greatest",
    "high tall",
    "higher taller",
    "highest tallest loftiest",
    "earth planet world globe",
    "small little tiny",
    "smallest tiniest",
    "fast quick quickly rapid",
    "fix repair",
    "car vehicle auto",
    "photo picture pic",
    "movie film",
    "tv television",
    "km kilometer kilometre kilometers kilometres",
    "kg kilogram kilo kilos kilograms",
    "cm centimeter centimetre",
    "mm millimeter millimetre",
    "oz ounce ounces",
    "lb lbs pound pounds",
    "ft foot feet",
    "hr hour hours",
    "sec second seconds",
    "mins minute minutes",
    "usd dollar dollars",
    "eur euro euros",
    "gb gigabyte gigabytes",
    "tb terabyte terabytes",
    "mb megabyte megabytes",
    "us usa america american",
    "uk britain british",
    "app application",
    "info information",
    "pic image",
    "phone mobile cellphone",
    "email mail",
    "tyre tire",
    "color colour",
    "cancel terminate",
    "delete erase",
    "money cash funds",
    "atm cashpoint",
    "id identity identification",
    "pwd password passcode",
    "synonym word",
    "simple simply",
    "cost price fee",
    "refund reimbursement",
]
SYNONYMS: dict[str, int] = {}
for _i, _g in enumerate(_SYNONYM_GROUPS):
    for _w in _g.split():
        SYNONYMS[_w] = _i


PERSON = {"i": 1, "me": 1, "my": 1, "mine": 1, "myself": 1, "you": 2, "your": 2, "yours": 2, "yourself": 2}
POSSESSIVE = {"my": 1, "mine": 1, "your": 2, "yours": 2}


# words that carry a direction / role between two swapped content words ("X to Y" vs "Y to X")
NEUTRAL_BETWEEN = frozenset({"of", "the", "a", "an", "and", "or", "vs", "versus", "s", "for", "&"})


# words ignored when deciding whether the rest of two queries is identical ("do I" / "can I", "a" / "the")
FILLER = frozenset(
    """
a an the is are was were be been am do does did can could would will shall should may might must to s please
i me you we us it its there this that so just also really ok okay hi hello hey thanks thank how what which
""".split()
)


# names users often type in lower case (places, languages, platforms, currencies): a swap of one of these
# is a different question ("weather in paris" / "weather in london")
GAZETTEER = frozenset(
    """
afghanistan albania algeria argentina armenia australia austria bangladesh belgium bolivia brazil bulgaria
cambodia cameroon canada chile china colombia croatia cuba cyprus czechia denmark ecuador egypt england estonia
ethiopia finland france georgia germany ghana greece hungary iceland india indonesia iran iraq ireland israel
italy jamaica japan jordan kenya korea latvia lebanon libya lithuania luxembourg malaysia mexico mongolia morocco
nepal netherlands holland nigeria norway pakistan panama paraguay peru philippines poland portugal qatar romania
russia scotland serbia singapore slovakia slovenia somalia spain sudan sweden switzerland syria taiwan thailand
tunisia turkey uganda ukraine uruguay venezuela vietnam wales yemen zimbabwe europe asia africa america antarctica
alabama alaska arizona arkansas california colorado connecticut delaware florida hawaii idaho illinois indiana
iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota mississippi missouri montana
nebraska nevada ohio oklahoma oregon pennsylvania tennessee texas utah vermont virginia washington wisconsin wyoming
london paris berlin madrid rome tokyo beijing shanghai moscow dubai sydney toronto chicago boston seattle denver
dallas houston atlanta miami vegas orleans york angeles francisco amsterdam dublin vienna prague lisbon athens
istanbul cairo delhi mumbai bangkok seoul singapore
english spanish french german italian portuguese russian chinese mandarin japanese korean arabic hindi dutch
swedish greek turkish polish hebrew latin
python java javascript typescript ruby php perl rust golang kotlin swift scala haskell sql html css bash
windows linux ubuntu macos mac ios android iphone ipad chrome firefox safari excel word powerpoint
usd eur gbp jpy aud cad chf cny inr dollar dollars euro euros pound pounds yen rupee rupees peso pesos yuan
""".split()
)


def tokens(text: str) -> list[str]:
    t = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    for pat, rep in _CONTRACTION_PATTERNS:
        t = pat.sub(rep, t)
    return _TOKEN.findall(t)


#: Short words that follow a number without being its unit ("NEET 2 from NEET 1", "in 2016 is"):
#: closed-class English words, so a unit is only ever a content word or a symbol. Between two numbers
#: they still count ("1 in 10", "500 or 1000"): there they relate the numbers.
NOT_UNITS = frozenset(
    """
a an the and or nor but if so as at by for from in into of off on onto out per than that then to up upon via
with vs is are was were be am do does did has had have can may will would must how what when why who whom which
where i me my we us our you your he him his she her it its they them this these those not no yes all any both
each few more most some such only also just too very ago yet
""".split()
)
