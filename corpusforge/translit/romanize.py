"""Informal romanisation: Brahmic words in Latin letters as people type them (``यह फिल्म बहुत
अच्छी थी`` -> ``yah film bahut acchi thi``), not as a standard scheme writes them (ISO 15919:
``yaha philma bahuta acchī thī``).

The romaniser reads one Devanagari word (other Brahmic scripts are first converted to
Devanagari by :mod:`corpusforge.translit.engine`) as a sequence of syllables, decides which
inherent vowels are silent, and spells each unit from a fixed table. Rules (version
:data:`RULES_VERSION`; bump it whenever output changes):

Spelling (no diacritics; close to Hunterian, the official romanisation of Indian place names,
and to chat usage):
- Vowels: अ/आ ``a``, इ/ई ``i``, उ/ऊ ``u``, ऋ ``ri``, ए ``e``, ऐ ``ai``, ओ ``o``, औ ``au``;
  English loan vowels ऑ ``o``, ऍ/ॅ ``e``. Length is not written (ā and a are both ``a``).
- Consonants: aspirates add ``h`` (``kh``, ``gh``, ``bh``); retroflex and dental merge
  (ट/त ``t``, ठ/थ ``th``, ड/द ``d``, ढ/ध ``dh``, ण/न ``n``); च ``ch``, छ ``chh``, but
  च्च/च्छ ``cch`` (``acchi``, ``baccha``); श/ष ``sh``; व ``v``; फ/फ़ ``f`` (as the issue's
  ``film``); क़ ``q``, ख़ ``kh``, ग़ ``gh``, ज़ ``z``; ड़ ``d``, ढ़ ``dh`` (``ladka``, ``padhna``);
  ऴ ``zh`` (Tamil ழ); ज्ञ ``gy`` (Marathi ``dny``); क्ष ``ksh`` (from क + ष).
- Nasals: anusvara and candrabindu are ``n``, ``m`` before a labial (प फ ब भ म); in Bengali
  (ং) ``ng``; word-final in Dravidian scripts (Tamil, Telugu, Kannada, Malayalam) ``m``.
  Visarga is ``h``; digits become ASCII digits; dandas become ``.``; ॐ is ``om``; avagraha,
  ZWJ and ZWNJ vanish.

Inherent-vowel (schwa) deletion, for the languages in :data:`SCHWA_LANGUAGES` only (Hindi,
Marathi, Nepali as asked; Gujarati, Punjabi and Bengali, whose speech drops the inherent vowel
in the same places; Urdu, read through Devanagari, as Hindi: they are one spoken language). Other
languages keep every inherent ``a``.
1. Word-final: the inherent vowel of the last consonant is silent (``kamal``, ``bahut``) unless
   the word has no other vowel (``na``), the consonant carries a nasal or visarga (``evan``),
   or it ends a consonant cluster: then Hindi, Gujarati and Punjabi keep it only after
   य र ल व (``mitra``, ``karya``, but ``shabd``, ``dharm``), Marathi, Nepali and Bengali always
   (``garchha``).
2. Medial, right to left: the inherent vowel in V C _ C V (single consonants on both sides,
   vowels beyond them) is silent (``apna``, ``sarkar``, ``samajhna``, ``badalna``); a
   nasalised vowel closes its syllable, so ``zindagi`` keeps it. Working right to left makes
   each deletion block the one before it (``samajhna``, not ``samjhna``).

Known failures (accuracy is measured on ``corpusforge/data/translit_eval.tsv`` by
``benchmarks/translit_accuracy.py``; the misses there are mostly these):
- Medial deletion in names that keep the vowel (गुजराती -> ``gujrati``, मलयालम -> ``malyalam``,
  अवधी -> ``avdhi``), and in compounds and prefixed words, where a morpheme boundary moves it
  (राजमहल -> ``rajamhal`` instead of ``rajmahal``).
- Words whose common spelling keeps a Sanskrit final ``a`` (कृष्ण -> ``krishn``, not
  ``Krishna``; धर्म -> ``dharm``) or writes length (आप -> ``ap``, typed ``aap``; ई as ``ee``).
- Conventional spellings that are not phonetic: यह -> ``yah`` (typed ``yeh``), में -> ``men``
  (typed ``mein``), हैदराबाद -> ``haidrabad`` (``Hyderabad``), English loans (कॉलेज -> ``kolej``).
- Bengali's inherent vowel is pronounced ``o`` (কলকাতা is ``Kolkata``); it is written ``a``.
- Spellings that follow English or another script's habits: थिंपू -> ``thimpu`` (Thimphu),
  कोलंबो -> ``kolambo`` (Colombo); doubled consonants that English writes once (Tamil and
  Malayalam கொல்கத்தா -> ``kolkatta``, Kolkata).
- Retroflex and dental consonants, and ड़/ड, are not distinguished: the output cannot be
  converted back.
"""

from __future__ import annotations

import unicodedata

RULES_VERSION = "1"

# language (ISO 639-3) -> consonants after which a cluster-final inherent vowel is kept
# (None: kept after every cluster).
SCHWA_LANGUAGES: dict[str, frozenset[str] | None] = {
    "hin": frozenset("यरलव"),
    "guj": frozenset("यरलव"),
    "pan": frozenset("यरलव"),
    "urd": frozenset("यरलव"),
    "mar": None,
    "npi": None,
    "ben": None,
}
DRAVIDIAN_SCRIPTS = frozenset({"Taml", "Telu", "Knda", "Mlym"})

VIRAMA = "\u094d"
NUKTA = "\u093c"
ANUSVARA, CANDRABINDU, VISARGA = "\u0902", "\u0901", "\u0903"
NASALS = (ANUSVARA, CANDRABINDU, "\u0900")  # U+0900: inverted candrabindu
LABIALS = frozenset("पफबभम")

# Precomposed nukta letters, read as base + nukta (their NFC form).
_DECOMPOSE = {c: unicodedata.normalize("NFD", c) for c in "\u0929\u0931\u0934\u0958\u0959\u095a\u095b\u095c\u095d\u095e\u095f"}
NUKTA_TABLE = str.maketrans(_DECOMPOSE)

CONSONANTS = {
    "क": "k",
    "ख": "kh",
    "ग": "g",
    "घ": "gh",
    "ङ": "n",
    "च": "ch",
    "छ": "chh",
    "ज": "j",
    "झ": "jh",
    "ञ": "n",
    "ट": "t",
    "ठ": "th",
    "ड": "d",
    "ढ": "dh",
    "ण": "n",
    "त": "t",
    "थ": "th",
    "द": "d",
    "ध": "dh",
    "न": "n",
    "प": "p",
    "फ": "f",
    "ब": "b",
    "भ": "bh",
    "म": "m",
    "य": "y",
    "र": "r",
    "ल": "l",
    "व": "v",
    "श": "sh",
    "ष": "sh",
    "स": "s",
    "ह": "h",
    "ळ": "l",
    # Rarer letters (Sindhi implosives, Marathi/Kashmiri extras) by their nearest sound.
    "ॻ": "g",
    "ॼ": "j",
    "ॾ": "d",
    "ॿ": "b",
    "ॹ": "z",
    "ॺ": "y",
    "ॸ": "d",
}
NUKTA_CONSONANTS = {"क": "q", "ख": "kh", "ग": "gh", "ज": "z", "ड": "d", "ढ": "dh", "फ": "f", "य": "y", "न": "n", "र": "r", "ळ": "zh"}
VOWELS = {
    "अ": "a",
    "आ": "a",
    "इ": "i",
    "ई": "i",
    "उ": "u",
    "ऊ": "u",
    "ऋ": "ri",
    "ॠ": "ri",
    "ऌ": "li",
    "ॡ": "li",
    "ऍ": "e",
    "ऎ": "e",
    "ए": "e",
    "ऐ": "ai",
    "ऑ": "o",
    "ऒ": "o",
    "ओ": "o",
    "औ": "au",
    "ऄ": "a",
    "ॲ": "a",
    "ॳ": "a",
    "ॴ": "a",
    "ॵ": "o",
    "ॶ": "u",
    "ॷ": "u",
}
VOWEL_SIGNS = {
    "ा": "a",
    "ि": "i",
    "ी": "i",
    "ु": "u",
    "ू": "u",
    "ृ": "ri",
    "ॄ": "ri",
    "ॢ": "li",
    "ॣ": "li",
    "ॅ": "e",
    "ॆ": "e",
    "े": "e",
    "ै": "ai",
    "ॉ": "o",
    "ॊ": "o",
    "ो": "o",
    "ौ": "au",
    "ऺ": "e",
    "ऻ": "o",
    "ॎ": "e",
    "ॏ": "au",
    "ॕ": "e",
    "ॖ": "u",
    "ॗ": "u",
}
OTHERS = {"ॐ": "om", "ऽ": "", "\u200c": "", "\u200d": "", "ॱ": "", "ॽ": "", "॰": ".", "।": ".", "॥": ".", NUKTA: "", VIRAMA: ""}
OTHERS.update({chr(0x0966 + d): str(d) for d in range(10)})


class _Unit:
    """One written unit: a consonant (with its vowel: ``a`` inherent, ``""`` under virama, else
    a sign), an independent vowel, or another character; ``nasal`` holds a following
    anusvara/candrabindu/visarga."""

    __slots__ = ("letter", "roman", "vowel", "nasal", "consonant", "inherent")

    def __init__(self, letter: str, roman: str, vowel: str, consonant: bool, inherent: bool = False):
        self.letter, self.roman, self.vowel = letter, roman, vowel
        self.consonant, self.inherent = consonant, inherent
        self.nasal = ""


class InformalRomanizer:
    """Romanises single Devanagari words by the rules in this module's docstring.

    ``language`` (ISO 639-3, as :func:`corpusforge.languages.language_of` gives it) chooses
    schwa deletion and the ज्ञ spelling; ``script`` (ISO 15924) is the script the word was
    first written in, which decides how nasals are spelt. Pure Python, about 2 µs a character
    here: callers cache per word.
    """

    def __init__(self, *, language: str | None = None, script: str = "Deva"):
        self.language = language
        self.script = script
        self._deletes = language in SCHWA_LANGUAGES
        self._keep_after_cluster = SCHWA_LANGUAGES.get(language) if language is not None else None
        self._jnya = "dny" if language == "mar" else "gy"
        self._nasal = "ng" if script == "Beng" else "n"
        self._final_m = script in DRAVIDIAN_SCRIPTS

    def word(self, word: str) -> str:
        units = self._parse(word.translate(NUKTA_TABLE))
        if self._deletes:
            self._delete_schwas(units)
        return self._spell(units)

    @staticmethod
    def _parse(word: str) -> list[_Unit]:
        units: list[_Unit] = []
        i, n = 0, len(word)
        while i < n:
            ch = word[i]
            if ch in CONSONANTS:
                roman = CONSONANTS[ch]
                if i + 1 < n and word[i + 1] == NUKTA:
                    roman = NUKTA_CONSONANTS.get(ch, roman)
                    i += 1
                vowel, inherent = "a", True
                if i + 1 < n and word[i + 1] == VIRAMA:
                    vowel, inherent = "", False
                    i += 1
                elif i + 1 < n and word[i + 1] in VOWEL_SIGNS:
                    vowel, inherent = VOWEL_SIGNS[word[i + 1]], False
                    i += 1
                units.append(_Unit(ch, roman, vowel, True, inherent))
            elif ch in VOWELS:
                units.append(_Unit(ch, "", VOWELS[ch], False))
            elif (ch in NASALS or ch == VISARGA) and units and units[-1].vowel:
                units[-1].nasal += ch
            elif ch in NASALS:
                units.append(_Unit(ch, "", "", False))
                units[-1].nasal = ch
            elif ch in VOWEL_SIGNS:  # a sign with no consonant before it: say the vowel
                units.append(_Unit(ch, "", VOWEL_SIGNS[ch], False))
            else:
                units.append(_Unit(ch, OTHERS.get(ch, ch), "", False))
            i += 1
        return units

    def _delete_schwas(self, units: list[_Unit]) -> None:
        def silent_candidate(k: int) -> bool:
            u = units[k]
            return u.consonant and u.inherent and u.vowel == "a" and not u.nasal

        voiced = [k for k, u in enumerate(units) if u.vowel]
        last = len(units) - 1
        if last >= 0 and silent_candidate(last) and len(voiced) > 1:
            prev = units[last - 1] if last else None
            in_cluster = prev is not None and prev.consonant and prev.vowel == ""
            keep = self._keep_after_cluster
            if not in_cluster or (keep is not None and units[last].letter not in keep):
                units[last].vowel = ""
        for k in range(last - 1, 0, -1):
            if not silent_candidate(k):
                continue
            before, after = units[k - 1], units[k + 1]
            if before.vowel and not before.nasal and after.consonant and after.vowel:
                units[k].vowel = ""

    def _spell(self, units: list[_Unit]) -> str:
        out: list[str] = []
        last = len(units) - 1
        for k, u in enumerate(units):
            roman = u.roman
            if u.consonant:
                nxt = units[k + 1] if k < last else None
                if u.letter == "च" and u.vowel == "" and nxt is not None and nxt.letter in "चछ":
                    roman = "c"
                elif u.letter == "छ" and k and units[k - 1].letter == "च" and units[k - 1].vowel == "":
                    roman = "ch"
                elif u.letter == "ज" and u.vowel == "" and nxt is not None and nxt.letter == "ञ" and nxt.roman == "n":
                    roman, nxt.roman = self._jnya[:-1], self._jnya[-1]
            out.append(roman)
            out.append(u.vowel)
            if u.nasal:
                out.append(self._spell_nasal(u.nasal, units[k + 1] if k < last else None))
        return "".join(out)

    def _spell_nasal(self, nasal: str, nxt: _Unit | None) -> str:
        spelt = []
        for ch in nasal:
            if ch == VISARGA:
                spelt.append("h")
            elif nxt is not None and nxt.letter in LABIALS:
                spelt.append("m")
            elif nxt is None and self._final_m:
                spelt.append("m")
            else:
                spelt.append(self._nasal)
        return "".join(spelt)
