"""Step 6b: the contrast guard. Refuses a hit when two queries are a small edit apart that flips the answer.

An embedding puts "Convert 100 Fahrenheit to Celsius" and "Convert 100 Celsius to Fahrenheit" at 0.99,
"enable" and "disable 2FA" at 0.88. This guard looks at the words instead: when the asked query and the
stored one differ in only a few words AND those words change a number, add or drop a negation, swap a
direction ("X to Y" / "Y to X"), use an antonym (minimum/maximum, upload/download, ...), swap my/your,
or swap a name (capitalised word, acronym, or a listed place, language, platform or currency), the stored
answer is not served. Queries that differ in many words are never a minimal edit, so true paraphrases
with little word overlap pass.

English only. Chosen and measured on the hard-case dev split and the Banking77/CLINC150 validation
splits (see benchmarks/quality.py); it costs 0.4-1.2 points of hits there, most of them real slot changes
("500 vs 5000 dollars") the intent labels cannot see. Pure functions, no I/O, ~0.1 ms per decision.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .lexicon import (
    ANTONYMS,
    FILLER,
    GAZETTEER,
    NEG_PREFIXES,
    NEGATION,
    NEUTRAL_BETWEEN,
    NUMBER_WORDS,
    ORDINALS,
    PERSON,
    POSSESSIVE,
    STOP,
    SWAP_PREFIXES,
    SYNONYMS,
    tokens,
)

__all__ = ["ALL_CHECKS", "ContrastGuard"]

#: The kinds of meaning-changing edits the guard knows.
ALL_CHECKS = frozenset({"number", "negation", "direction", "antonym", "person", "entity"})


# ------------------------------------------------------------------------------------------------------
# text normalization
# ------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def stem(w: str) -> str:
    """A light suffix stripper: eggs/egg, leaking/leaky, makes/make."""
    if len(w) <= 3 or not w.isalpha():
        return w
    for suf, rep in (
        ("ies", "y"),
        ("ings", ""),
        ("ing", ""),
        ("edly", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
        ("ly", ""),
    ):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            if suf == "s" and w.endswith(("ss", "us", "is")):
                continue
            w = w[: len(w) - len(suf)] + rep
            break
    if len(w) >= 4 and w[-1] in "ey":
        w = w[:-1]
    return w


def _damerau(a: str, b: str, cap: int) -> int:
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    prev2 = None
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


@lru_cache(maxsize=262144)
def is_antonym(x: str, y: str) -> bool:
    if y in ANTONYMS.get(x, ()) or stem(y) in {stem(a) for a in ANTONYMS.get(x, ())}:
        return True
    if _negating_prefix(x, y):  # safe / unsafe, lock / unlock, metals / nonmetals
        return True
    for p1, p2 in SWAP_PREFIXES:  # encrypt / decrypt, import / export, overwatering / underwatering
        for a, b in ((x, y), (y, x)):
            if (
                a.startswith(p1)
                and b.startswith(p2)
                and a[len(p1) :] == b[len(p2) :]
                and len(a) - len(p1) >= 3
            ):
                return True
    # two different superlatives that are not synonyms: hottest / coldest, oldest / youngest
    return bool(
        x.endswith("est") and y.endswith("est") and len(x) > 5 and len(y) > 5 and not _same_word(x, y)
    )


@lru_cache(maxsize=262144)
def _negating_prefix(x: str, y: str) -> bool:
    return any(len(a) >= 4 and any(b == p + a for p in NEG_PREFIXES) for a, b in ((x, y), (y, x)))


@lru_cache(maxsize=262144)
def _same_word(x: str, y: str) -> bool:
    """Spelling / morphological variants, abbreviations and listed synonyms (not a substitution)."""
    if x == y:
        return True
    sx, sy = stem(x), stem(y)
    if sx == sy:
        return True
    gx, gy = SYNONYMS.get(x, SYNONYMS.get(sx)), SYNONYMS.get(y, SYNONYMS.get(sy))
    if gx is not None and gx == gy:
        return True
    if any(c.isdigit() for c in x + y):
        return False
    n = min(len(x), len(y))
    return bool(n >= 5 and _damerau(x, y, 2) <= (2 if n >= 8 else 1))


def numbers(toks: Sequence[str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for t in toks:
        if t in NUMBER_WORDS:
            out[NUMBER_WORDS[t]] += 1
        elif t in ORDINALS:
            out[ORDINALS[t]] += 1
        else:
            for d in re.findall(r"\d+(?:[.,:/]\d+)*", t):
                d = re.sub(r"(?<=\d),(?=\d{3}\b)", "", d)
                out[d + ("th" if re.fullmatch(r"\d+(st|nd|rd|th)", t) else "")] += 1
    return out


_WORD_START = re.compile(r"(?<!\w)[A-Za-z][\w']*")
_BREAK = re.compile(r"[.!?:;]\s|\n")


def _sentence_starts(text: str) -> set[int]:
    r"""Where the words that open a sentence start: at the text's start, or after a newline or a [.!?:;]
    and a space, with only non-word characters between. (The regex this replaces,
    ``(?:^|[.!?:;]\s+|\n)\W*([A-Za-z][\w']*)``, gave the same starts but retried every newline of a long
    blank run: quadratic, 0.35 s for a question padded with 4,000 newlines, per candidate.)"""
    out: set[int] = set()
    end = 0  # the last opener's end: its characters cannot introduce the next one
    for m in _WORD_START.finditer(text):
        start = lo = m.start()
        while lo > end and not (text[lo - 1].isalnum() or text[lo - 1] == "_"):
            lo -= 1
        if lo == 0 or _BREAK.search(text, lo, start):
            out.add(start)
            end = m.end()
    return out


def named_words(text: str) -> set[str]:
    """Lower-cased words that look like names: capitalised inside a sentence, or acronyms."""
    starts = _sentence_starts(text)
    out = set()
    for m in re.finditer(r"[A-Za-z][A-Za-z0-9]*", text):
        w = m.group(0)
        if w == "I":
            continue
        if (w[0].isupper() and m.start() not in starts) or (len(w) >= 2 and w.isupper()):
            out.add(w.lower())
    return out


PREGATE_MAX_DIFF = 8


def _pair_off(xs: list[str], ys: list[str]) -> tuple[list[str], list[str]]:
    """Remove words present on both sides (exactly, then as variants); returns the leftovers."""
    xs, ys = list(xs), list(ys)
    for w in list(xs):
        if w in ys:
            xs.remove(w)
            ys.remove(w)
    for w in list(xs):
        for v in ys:
            if _same_word(w, v):
                xs.remove(w)
                ys.remove(v)
                break
    return xs, ys


def _extra(ta: Sequence[str], tb: Sequence[str], drop: set[str]) -> tuple[int, int]:
    """(number of words that differ apart from `drop` and filler, number of shared words)."""
    ra = [w for w in ta if w not in FILLER and w not in drop]
    rb = [w for w in tb if w not in FILLER and w not in drop]
    xa, xb = _pair_off(ra, rb)
    return len(xa) + len(xb), len(ra) - len(xa)


def _content(toks: Sequence[str]) -> list[str]:
    return [
        w
        for w in toks
        if w not in STOP
        and w not in NEGATION
        and w not in PERSON
        and not any(c.isdigit() for c in w)
        and w not in NUMBER_WORDS
        and w not in ORDINALS
    ]


# ------------------------------------------------------------------------------------------------------
# the contrast guard
# ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ContrastGuard:
    """Finds a meaning-changing minimal edit between two queries. Defaults: the measured configuration."""

    checks: frozenset[str] = ALL_CHECKS
    max_extra: int = 1
    """A check fires only when, apart from the words it looks at, the queries differ in at most this many
    words (filler such as "a", "the", "do", "can" ignored; spelling and inflection variants equal)."""
    entity_max_extra: int = 0
    """For a swapped name the rest of the two queries must be identical."""
    entity_mode: str = "named"
    """``named``: only swaps of words that look like names; ``any``: every one-word substitution (costs 4-5%
    of hits on the intent sets: synonym swaps look the same); ``off``."""
    direction_min_ratio: float = 0.75
    """With the two exchanged words masked, the queries must read alike (difflib ratio) to be a swap."""

    def check(self, a_text: str, b_text: str) -> str | None:
        """The kind of edit (``number``, ``negation``, ``direction``, ``antonym``, ``person``, ``entity``)
        that makes ``b_text`` a different question from ``a_text``, or None."""
        return _contrast(
            a_text,
            b_text,
            self.max_extra,
            self.entity_max_extra,
            self.entity_mode,
            self.direction_min_ratio,
            self.checks,
        )


def _contrast(
    a_text: str,
    b_text: str,
    max_extra: int,
    entity_max_extra: int,
    entity_mode: str,
    direction_min_ratio: float,
    checks: frozenset[str],
) -> str | None:
    ta, tb = tokens(a_text), tokens(b_text)
    if "entity" in checks and entity_mode != "off" and _names_differ(a_text, b_text, ta, tb):
        return "entity"
    # cheap pre-gate: queries that differ in many words are never a minimal edit
    bag_a = Counter(stem(w) for w in ta if w not in FILLER)
    bag_b = Counter(stem(w) for w in tb if w not in FILLER)
    if sum(((bag_a - bag_b) + (bag_b - bag_a)).values()) > PREGATE_MAX_DIFF:
        return None

    if "number" in checks:
        na, nb = numbers(ta), numbers(tb)
        if na != nb:
            drop = {w for w in ta + tb if w in NUMBER_WORDS or w in ORDINALS or any(c.isdigit() for c in w)}
            extra, shared = _extra(ta, tb, drop)
            if extra <= max_extra and shared >= 1:
                return "number"

    if "negation" in checks:
        nega = [w for w in ta if w in NEGATION]
        negb = [w for w in tb if w in NEGATION]
        if len(nega) != len(negb):
            extra, shared = _extra(ta, tb, set(NEGATION))
            if extra <= max_extra and shared >= 1:
                return "negation"

    sa, sb = set(ta), set(tb)
    only_a, only_b = sa - sb, sb - sa
    if "negation" in checks or "antonym" in checks:
        big_a = {x + "_" + y for x, y in zip(ta, ta[1:], strict=False)}
        big_b = {x + "_" + y for x, y in zip(tb, tb[1:], strict=False)}
        cand_a = only_a | {g for g in big_a - big_b if g in ANTONYMS}
        cand_b = only_b | {g for g in big_b - big_a if g in ANTONYMS}
        for x in cand_a:
            for y in cand_b:
                if x in y.split("_") or y in x.split("_"):
                    continue
                neg = _negating_prefix(x, y)
                if not (neg or is_antonym(x, y)):
                    continue
                kind = "negation" if neg else "antonym"
                if kind not in checks:
                    continue
                drop = set(x.split("_")) | set(y.split("_")) | {"most", "least", "more", "less"}
                extra, shared = _extra(ta, tb, drop)
                if extra <= max_extra and shared >= 1:
                    return kind

    if "person" in checks:
        posa = Counter(POSSESSIVE[w] for w in ta if w in POSSESSIVE)
        posb = Counter(POSSESSIVE[w] for w in tb if w in POSSESSIVE)
        pa = [PERSON[w] for w in ta if w in PERSON]
        pb = [PERSON[w] for w in tb if w in PERSON]
        swapped_possessive = bool(posa) and bool(posb) and set(posa) != set(posb)
        flipped = len(set(pa)) > 1 and sorted(pa) == sorted(pb) and pa != pb
        if swapped_possessive or flipped:
            extra, shared = _extra(ta, tb, set(PERSON))
            if extra <= max_extra and shared >= 1:
                return "person"

    if "direction" in checks:
        if _swapped(ta, tb, direction_min_ratio):
            return "direction"
        if _roles_swapped(ta, tb) and _extra(ta, tb, set())[0] <= max_extra:
            return "direction"

    if "entity" in checks and entity_mode != "off":
        ua, ub = _pair_off(_content(ta), _content(tb))
        if ua and ub and len(ua) <= 2 and len(ub) <= 2:
            extra, shared = _extra(ta, tb, set(ua) | set(ub))
            if extra <= entity_max_extra and shared >= 1:
                if entity_mode == "any":
                    return "entity"
                names = named_words(a_text) | named_words(b_text)
                if any(w in names or w in GAZETTEER for w in ua + ub):
                    return "entity"
    return None


def _names_differ(a_text: str, b_text: str, ta: Sequence[str], tb: Sequence[str]) -> bool:
    """Each question names something (a listed place, language, platform, or a capitalised name) that the
    other never mentions: "the largest city in Guatemala" is not "the biggest city of Belize", however
    many other words differ. Only names absent from the other text count, so a question typed in title
    case or lower case still meets its paraphrase."""
    words_a, words_b = set(ta), set(tb)

    def names(text: str, toks: set[str]) -> set[str]:
        return {w for w in named_words(text) if w not in STOP} | {w for w in toks if w in GAZETTEER}

    only_a = {w for w in names(a_text, words_a) if w not in words_b}
    only_b = {w for w in names(b_text, words_b) if w not in words_a}
    return bool(only_a and only_b)


_ROLE_MARKERS = {"to": "to", "into": "to", "onto": "to", "from": "from", "than": "than", "per": "per"}


def _roles_swapped(ta: Sequence[str], tb: Sequence[str]) -> bool:
    """Two words trade their roles: 'from my local machine to a remote server' / 'from a remote server to my
    local machine', 'convert 5 kg to pounds' / 'convert 5 pounds to kg' (role = the direction word before it,
    or none)."""

    def roles(toks: Sequence[str]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        marker = None
        for w in toks:
            if w in _ROLE_MARKERS:
                marker = _ROLE_MARKERS[w]
                continue
            if w in STOP or w in FILLER or any(c.isdigit() for c in w) or w in NUMBER_WORDS:
                continue
            s = stem(w)
            out.setdefault(s, marker)
            marker = None
        return out

    ra, rb = roles(ta), roles(tb)
    common = [w for w in ra if w in rb]
    for i, x in enumerate(common):
        for y in common[i + 1 :]:
            if ra[x] != ra[y] and ra[x] == rb[y] and ra[y] == rb[x]:
                return True
    return False


def _swapped(ta: Sequence[str], tb: Sequence[str], min_ratio: float) -> bool:
    """Two content words exchange places around a shared role-carrying word: 'X to Y' / 'Y to X',
    'miles is 10 km' / 'km is 10 miles', 'Germany invade Poland' / 'Poland invade Germany'; the rest of the
    two queries (with the two words masked) must read the same in the same order."""
    sa, sb = [stem(w) for w in ta], [stem(w) for w in tb]

    def pos(toks: Sequence[str]) -> dict[str, int]:
        cnt = Counter(toks)
        return {w: i for i, w in enumerate(toks) if cnt[w] == 1 and w not in STOP and w not in NEGATION}

    pa, pb = pos(sa), pos(sb)
    common = [w for w in pa if w in pb]
    for i, x in enumerate(common):
        for y in common[i + 1 :]:
            if (pa[x] - pa[y]) * (pb[x] - pb[y]) >= 0:
                continue
            lo_a, hi_a = sorted((pa[x], pa[y]))
            lo_b, hi_b = sorted((pb[x], pb[y]))
            mid_a = {w for w in sa[lo_a + 1 : hi_a] if w not in NEUTRAL_BETWEEN}
            mid_b = {w for w in sb[lo_b + 1 : hi_b] if w not in NEUTRAL_BETWEEN}
            if not mid_a & mid_b:
                continue
            ma = ["#" if w in (x, y) else w for w in sa]
            mb = ["#" if w in (x, y) else w for w in sb]
            if difflib.SequenceMatcher(None, ma, mb, autojunk=False).ratio() >= min_ratio:
                return True
    return False
