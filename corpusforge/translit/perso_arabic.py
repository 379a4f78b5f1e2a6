"""Urdu (Perso-Arabic script) to and from Devanagari: Hindustani written in the other script.

Urdu -> Devanagari (:class:`UrduToDevanagari`) reads one word letter by letter with the reading
rules of unvocalised Urdu: ا آ و ی ے are long vowels or glides by position (word-initial ا is
अ, medial ا is ा; و after a consonant is ो, between vowels or word-initial व; ی after a consonant
is ी medially and finally, य initially; ے is े), ھ aspirates the consonant before it (کھ -> ख),
ں nasalises (ं), nuktas mark the Perso-Arabic consonants (ز -> ज़, خ -> ख़, ق -> क़), and vowel
signs (zer, pesh, shadda, sukun), where a text writes them, are read. This rule table was chosen
over aksharamukha 2.3 (``Urdu`` leaves most Urdu letters unconverted; ``Arab-Ur`` reads every
و/ی as व/य) by ``benchmarks/translit_accuracy.py`` (numbers in the README).

What the output promises: unvocalised Urdu does not write short vowels, so the output has the
consonants and long vowels of the word, and an inherent ``a`` wherever Urdu wrote no vowel
(پاکستان -> पाकसतान, not पाकिस्तान); و and ی are read as ो and ी where Urdu also writes ु/ू/औ
and े/ै with them. Exact spelling is reached only for words whose vowels are all long or written.
Romanisations of Urdu go through this Devanagari, so they inherit it.

Devanagari -> Urdu (:class:`DevanagariToUrdu`) uses aksharamukha's ``Devanagari`` -> ``Urdu``
and removes the short-vowel signs it writes on every letter (Urdu text leaves them out).
"""

from __future__ import annotations

import functools
import unicodedata
from importlib import metadata
from typing import Any

RULES_VERSION = "1"  # bump whenever UrduToDevanagari output changes

CONSONANTS = {
    "ب": "ब",
    "پ": "प",
    "ت": "त",
    "ٹ": "ट",
    "ث": "स",
    "ج": "ज",
    "چ": "च",
    "ح": "ह",
    "خ": "ख़",
    "د": "द",
    "ڈ": "ड",
    "ذ": "ज़",
    "ر": "र",
    "ڑ": "ड़",
    "ز": "ज़",
    "ژ": "झ़",
    "س": "स",
    "ش": "श",
    "ص": "स",
    "ض": "ज़",
    "ط": "त",
    "ظ": "ज़",
    "غ": "ग़",
    "ف": "फ़",
    "ق": "क़",
    "ک": "क",
    "ك": "क",
    "گ": "ग",
    "ل": "ल",
    "م": "म",
    "ن": "न",
    "ہ": "ह",
    "ه": "ह",
    "ۃ": "त",
    "ة": "त",
}
ASPIRATES = {"क": "ख", "ग": "घ", "च": "छ", "ज": "झ", "ट": "ठ", "ड": "ढ", "त": "थ", "द": "ध", "प": "फ", "ब": "भ", "ड़": "ढ़"}
INDEPENDENT = {"ा": "आ", "ि": "इ", "ी": "ई", "ु": "उ", "ू": "ऊ", "े": "ए", "ै": "ऐ", "ो": "ओ", "ौ": "औ"}
VIRAMA = "्"
ZER, ZABAR, PESH, SHADDA, SUKUN, KHARI_ALIF = "\u0650", "\u064e", "\u064f", "\u0651", "\u0652", "\u0670"
DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
PUNCTUATION = {"۔": "।", "،": ",", "؟": "?", "؛": ";"}
IGNORED = frozenset("\u064b\u064c\u064d\u0653\u0654\u0655\u0656\u0657\u0658\u200c\u200dء")


class UrduToDevanagari:
    """Unvocalised-Urdu reading rules, one word at a time (see the module docstring)."""

    def words(self, words: list[str]) -> list[str]:
        return [self.word(w) for w in words]

    @staticmethod
    @functools.lru_cache(maxsize=65536)
    def word(word: str) -> str:
        letters = [c for c in unicodedata.normalize("NFC", word) if c not in IGNORED]
        out: list[str] = []
        vowel_before = True  # at the start a vowel letter is a vowel, not a glide
        last = len(letters) - 1
        for i, c in enumerate(letters):
            nxt = letters[i + 1] if i < last else None
            if c in CONSONANTS:
                dev = CONSONANTS[c]
                if c in "ہه" and i == last and i > 0 and letters[i - 1] not in "اوی":
                    dev = "ह" if i == 1 else "ा"  # final he: a vowel (کمرہ), but the word یہ / وہ keeps it
                if c == "ن" and nxt is not None and nxt in CONSONANTS and nxt not in "ہه" and i > 0:
                    out.append("ं")
                    vowel_before = False
                    continue
                out.append(dev)
                vowel_before = dev == "ा"
            elif c == "ھ":
                if out and out[-1] in ASPIRATES:
                    out[-1] = ASPIRATES[out[-1]]
                else:
                    out.append("ह")
                vowel_before = False
            elif c in "اآ":
                if c == "آ" or (vowel_before and out and i > 0):
                    out.append("आ" if vowel_before else "ा")
                elif vowel_before:
                    out.append("अ")
                else:
                    out.append("ा")
                vowel_before = True
            elif c in "وؤ":
                if vowel_before and (i == 0 or out[-1] in ("ा", "आ", "अ")) and not (i == 1 and letters[0] == "ا"):
                    out.append("व")
                    vowel_before = False
                else:
                    out.append(_vowel("ो", out, i == 1 and letters[0] == "ا"))
                    vowel_before = True
            elif c in "یيئى":
                if c == "ئ":
                    out.append("इ" if out and out[-1] in ("ा", "ो", "ी", "े") else "य")
                    vowel_before = True
                    continue
                if (i == 0 or (vowel_before and out and out[-1] in ("ा", "आ"))) and nxt is not None:
                    out.append("य")
                    vowel_before = False
                else:
                    out.append(_vowel("ी" if nxt is None or i > 0 else "े", out, i == 1 and letters[0] == "ا"))
                    vowel_before = True
            elif c in "ےۓ":
                out.append(_vowel("े", out, i == 1 and letters[0] == "ا"))
                vowel_before = True
            elif c == "ں":
                out.append("ं")
            elif c == "ع":
                if i == 0:
                    out.append("अ")
                    vowel_before = True
            elif c == ZER and out:
                out.append("ि")
            elif c == PESH and out:
                out.append("ु")
            elif c == SUKUN and out and not vowel_before:
                out.append(VIRAMA)
            elif c == SHADDA and out and not vowel_before:
                out += [VIRAMA, out[-1]]
            elif c == KHARI_ALIF:
                out.append("ा")
            elif c == ZABAR:
                continue
            elif c in PUNCTUATION:
                out.append(PUNCTUATION[c])
            else:
                out.append(c.translate(DIGITS))
        return unicodedata.normalize("NFC", "".join(out).replace("अा", "आ"))


def _vowel(sign: str, out: list[str], after_initial_alif: bool) -> str:
    """A vowel sign, or its independent letter at the start of a word or after a vowel."""
    if after_initial_alif and out and out[-1] == "अ":
        out.pop()
        return INDEPENDENT[sign]
    if not out or out[-1] in INDEPENDENT or out[-1] in INDEPENDENT.values():
        return INDEPENDENT[sign]
    return sign


_SHORT_VOWEL_SIGNS = dict.fromkeys(map(ord, "\u064b\u064c\u064d\u064e\u064f\u0650\u0652\u0658"))


class DevanagariToUrdu:
    """Devanagari words in Urdu script through aksharamukha, without short-vowel signs."""

    def __init__(self) -> None:
        self._process = _aksharamukha()

    def words(self, words: list[str]) -> list[str]:
        if not words:
            return []
        out = self._process("Devanagari", "Urdu", "\n".join(words)).split("\n")
        if len(out) != len(words):
            out = [self._process("Devanagari", "Urdu", w) for w in words]
        return [unicodedata.normalize("NFC", w.translate(_SHORT_VOWEL_SIGNS)) for w in out]


@functools.cache
def _aksharamukha() -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from aksharamukha import transliterate
    return transliterate.process


def aksharamukha_version() -> str:
    return metadata.version("aksharamukha")
