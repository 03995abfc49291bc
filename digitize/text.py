"""Vietnamese text helpers: NFC, tone folding, edit distance, CER."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def clean_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def fold(text: str) -> str:
    """Lower-case, strip tone marks and vowel diacritics, đ->d.

    "Nguyễn Văn An" -> "nguyen van an". Used for tone-insensitive search."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return text.replace("đ", "d")


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer(hypothesis: str, reference: str) -> float:
    """Character error rate on NFC text with whitespace runs collapsed."""
    hyp = clean_spaces(nfc(hypothesis))
    ref = clean_spaces(nfc(reference))
    if not ref:
        return 0.0 if not hyp else 1.0
    return levenshtein(hyp, ref) / len(ref)


def with_case(template: str, word: str) -> str:
    """`word` in the case `template` is printed in: capitals (two letters or more), capitalised
    or as is."""
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


# old-style tone placement (on the glide) -> new-style (on the main vowel)
TONE_PLACEMENT = {
    "oà": "òa",
    "oá": "óa",
    "oả": "ỏa",
    "oã": "õa",
    "oạ": "ọa",
    "oè": "òe",
    "oé": "óe",
    "oẻ": "ỏe",
    "oẽ": "õe",
    "oẹ": "ọe",
    "uỳ": "ùy",
    "uý": "úy",
    "uỷ": "ủy",
    "uỹ": "ũy",
    "uỵ": "ụy",
}


def tone_variant(word: str) -> str:
    """Old-style tone placement ("Hoà") as new-style ("Hòa") and back: both are printed."""
    low = word.lower()
    for old, new in TONE_PLACEMENT.items():
        if low.endswith(old):
            return word[:-2] + new
        if low.endswith(new):
            return word[:-2] + old
    return word
