"""What the admission filters read: the user's text with the tricks that hide a phrase undone.

"What is my\\u200baccount balance?" (a zero-width space), "mу account" (a Cyrillic у), "my-account" must
not slip past "my account". The text is NFKC-normalized, stripped of invisible format characters, and
letters that look Latin inside a word that also has Latin letters are folded to them (a word written
wholly in another script is left alone: Russian stays Russian).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold", "fold_words", "readings"]

#: Cyrillic and Greek letters drawn like Latin ones.
_CONFUSABLES = str.maketrans(
    "аеорсухіјѕԁһӏАВЕКМНОРСТХІЈЅοαεικνρτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlABEKMHOPCTXIJSoaeikvptuxABEHIKMNOPTYX",
)
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"\w+")
_NOT_WORD = re.compile(r"[^\w']+")


def _fold_word(match: re.Match[str]) -> str:
    word = match.group(0)
    return word.translate(_CONFUSABLES) if word.isascii() is False and _LATIN.search(word) else word


def fold(text: str, *, format_chars: str = "") -> str:
    """NFKC, format characters (zero-width spaces, joiners, direction marks) replaced by
    ``format_chars``, confusables folded."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = "".join(format_chars if unicodedata.category(ch) == "Cf" else ch for ch in text)
        text = _WORD.sub(_fold_word, text)
    return text


def readings(text: str) -> tuple[str, ...]:
    """The folded text, read both ways when it hides format characters: a zero-width space may join
    ("to\u200bday") or separate ("my\u200baccount") what the eye sees."""
    joined = fold(text)
    if text.isascii() or not any(unicodedata.category(ch) == "Cf" for ch in text):
        return (joined,)
    return joined, fold(text, format_chars=" ")


def fold_words(text: str) -> str:
    """:func:`fold`, then punctuation and hyphens as word breaks: what plain phrases are matched on."""
    return _NOT_WORD.sub(" ", fold(text)).strip()
