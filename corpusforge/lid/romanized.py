"""Romanised languages (``hin_Latn``: Hinglish; romanised Urdu reads the same) from word
lexicons built offline from packages, at the sentence and at the token level.

Lexicons: relative word frequencies. Same-script ones come from wordfreq's lists
(:func:`wordfreq_lexicon`, 42 languages); the romanised Hindi one is wordfreq's Devanagari Hindi
list put through a romaniser (the project's informal one, passed in by the caller, which lives
with the stages) with the spellings people type added (:func:`hindi_spellings`): long vowels
doubled (``aap``, ``baat``), a final nasal dropped (``nahi``), ``w`` for ``v`` (``wo``), and the
conventional spellings of the commonest words (``mein``, ``hai``/``he``, ``yeh``, ``hum``). A
spelling's frequency is the sum over the words that give it (the variants at half weight).

Token level, :func:`decode`: Viterbi over a row's words, each restricted to its own candidate
languages; emission log P(word | language) from the lexicons (floored at ``oov_prob``),
log(1 - switch_prob) to stay in a language and log(switch_prob / (K - 1)) to switch. Sentence
level, :class:`RomanizedDetector`: the share of a Latin-script text's words that are evidence for
the romanised language (more frequent in its lexicon than in the partner's); it is the romanised
language's score (a proportion of words, in [0, 1]).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import regex

Lexicon = dict[str, float]

WORD = regex.compile(r"[\p{L}\p{M}]+(?:['’][\p{L}\p{M}]+)*")
DEVANAGARI = regex.compile(r"^[\p{Devanagari}]+$")
NASAL_SIGNS = ("\u0902", "\u0901")  # anusvara, candrabindu
# Typed spellings of the commonest Hindi words that no rule gives (what the romaniser writes ->
# what people type as well).
CONVENTIONAL = {
    "men": ("mein", "me", "mai"),
    "main": ("mai", "mein"),
    "hai": ("he", "h"),
    "hain": ("hai", "hein", "he"),
    "yah": ("yeh", "ye"),
    "vah": ("woh", "wo", "voh"),
    "vo": ("wo", "woh"),
    "ham": ("hum",),
    "hamen": ("humein", "hume", "humen"),
    "hamara": ("humara",),
    "hamari": ("humari",),
    "tumhen": ("tumhe", "tumhein"),
    "unhen": ("unhe", "unhein"),
    "lie": ("liye",),
    "chahie": ("chahiye",),
    "gae": ("gaye",),
    "ae": ("aaye", "aye"),
    "kyon": ("kyun", "kyu"),
    "nahin": ("nahi", "nhi"),
}
VARIANT_WEIGHT = 0.5


def wordfreq_lexicon(language: str, *, top: int = 60000, script: regex.Pattern | None = None) -> Lexicon:
    """The ``top`` most frequent words of wordfreq's ``best`` list for ``language`` (its code:
    ``en``, ``hi``), case-folded, optionally only words matching ``script``; frequencies
    renormalised to sum to 1. ~1 s for English."""
    import wordfreq

    words: Lexicon = {}
    for word, freq in wordfreq.get_frequency_dict(language, wordlist="best").items():
        if script is not None and not script.match(word):
            continue
        if not WORD.fullmatch(word):
            continue
        key = word.casefold()
        words[key] = words.get(key, 0.0) + freq
        if len(words) >= top:
            break
    total = sum(words.values())
    return {word: freq / total for word, freq in words.items()}


def hindi_spellings(word: str, romanize: Callable[[str], str]) -> list[str]:
    """How a Devanagari Hindi ``word`` is typed in Latin letters: the romaniser's spelling first,
    then the variants the module docstring lists."""
    base = romanize(word)
    # Long vowels written twice: the romaniser spells a vowel sign standing alone as its vowel,
    # so doubling the sign doubles the letter (आ/ा -> aa, ई/ी -> ee, ऊ/ू -> oo).
    long_aa = romanize(word.replace("\u093e", "\u093e\u093e").replace("\u0906", "\u0906\u0905"))
    long_all = romanize(
        word.replace("\u093e", "\u093e\u093e")
        .replace("\u0906", "\u0906\u0905")
        .replace("\u0940", "\u0947\u0947")
        .replace("\u0942", "\u094b\u094b")
    )
    spellings = [base, long_aa, long_all]
    if word.endswith(NASAL_SIGNS) or (len(word) > 1 and word[-2] in NASAL_SIGNS):
        spellings += [s[:-1] for s in spellings if s.endswith("n") and len(s) > 2]
    spellings += [s.replace("v", "w") for s in spellings if "v" in s]
    spellings += [s.replace("chh", "ch") for s in spellings if "chh" in s]
    spellings += list(CONVENTIONAL.get(base, ()))
    return [s for s in dict.fromkeys(spellings) if s and WORD.fullmatch(s)]


def romanized_lexicon(native: Lexicon, romanize: Callable[[str], str], spellings=hindi_spellings) -> Lexicon:
    """A native-script lexicon in Latin letters: every word's spellings (:func:`hindi_spellings`),
    the first at the word's frequency and the others at :data:`VARIANT_WEIGHT` of it, summed per
    spelling and renormalised."""
    out: Lexicon = {}
    for word, freq in native.items():
        for i, spelling in enumerate(spellings(word, romanize)):
            key = spelling.casefold()
            out[key] = out.get(key, 0.0) + freq * (1.0 if i == 0 else VARIANT_WEIGHT)
    total = sum(out.values())
    return {word: freq / total for word, freq in out.items()}


def decode(
    words: Sequence[str], options: Sequence[Sequence[str]], lexicons: dict[str, Lexicon], *, switch_prob: float, oov_prob: float
) -> list[str]:
    """Most likely language per word (see the module docstring); a language without a lexicon
    scores every word at the floor, and a word with one option takes it. Ties go to the first
    candidate."""
    if not words:
        return []
    states = list(dict.fromkeys(code for opts in options for code in opts))
    if len(states) == 1:
        return [states[0]] * len(words)
    stay = math.log(1.0 - switch_prob)
    switch = math.log(switch_prob / (len(states) - 1))
    floor = math.log(oov_prob)

    def emission(word: str, code: str, allowed: Sequence[str]) -> float:
        if code not in allowed:
            return -math.inf
        lexicon = lexicons.get(code)
        if lexicon is None or len(allowed) == 1:
            return floor
        return math.log(max(lexicon.get(word.casefold(), 0.0), oov_prob))

    k = len(states)
    scores = [emission(words[0], s, options[0]) for s in states]
    back: list[list[int]] = []
    for word, allowed in zip(words[1:], options[1:]):
        pointers = [max(range(k), key=lambda p: scores[p] + (stay if p == s else switch)) for s in range(k)]
        scores = [scores[p] + (stay if p == s else switch) + emission(word, states[s], allowed) for s, p in enumerate(pointers)]
        back.append(pointers)
    path = [max(range(k), key=scores.__getitem__)]
    for pointers in reversed(back):
        path.append(pointers[path[-1]])
    return [states[s] for s in reversed(path)]


class RomanizedDetector:
    """Share of a Latin-script text's words in a romanised language (``code``) against the
    language it mixes with (``partner``), by :func:`decode` over the two lexicons. Pure Python,
    ~10 µs a short line; the ``lid`` stage runs it only on the Latin-script rows its gate lets
    through."""

    def __init__(self, *, code: str, partner: str, lexicons: dict[str, Lexicon], switch_prob: float = 0.1, oov_prob: float = 1e-7):
        missing = [c for c in (code, partner) if c not in lexicons]
        if missing:
            raise ValueError(f"RomanizedDetector needs lexicons for {missing}")
        self.code, self.partner = code, partner
        self.lexicons = {code: lexicons[code], partner: lexicons[partner]}
        self.switch_prob, self.oov_prob = switch_prob, oov_prob
        self._pair = (partner, code)  # ties go to the partner: unknown words do not make a text Hindi

    def cues(self, n: int = 400) -> list[str]:
        """The ``n`` most frequent ASCII words that are evidence for ``code`` (more frequent in
        its lexicon than in the partner's): a text with none of them has no evidence in its
        commonest words, so callers may skip it (``kya``, ``hai``, ``nahi``, ``mein``...)."""
        own, other = self.lexicons[self.code], self.lexicons[self.partner]
        ranked = sorted((w for w, f in own.items() if w.isascii() and w.isalpha() and f > other.get(w, 0.0)), key=lambda w: -own[w])
        return ranked[:n]

    def tags(self, text: str) -> list[tuple[str, str]]:
        """(word, code or partner) for each word of ``text``."""
        words = WORD.findall(text)
        return list(
            zip(words, decode(words, [self._pair] * len(words), self.lexicons, switch_prob=self.switch_prob, oov_prob=self.oov_prob))
        )

    def shares(self, texts: Iterable[str]) -> list[float]:
        """Per text, the share of its words that are evidence for ``code``: ASCII words (typed
        romanised Hindi is ASCII; ``wótpósłała`` is not) more frequent in its lexicon than in the
        partner's. Unlike :meth:`tags`, context does not count here: in an unknown language every
        word is unknown to both lexicons, and decoding would give them all the language around
        them. 0 for a text without words."""
        own, other = self.lexicons[self.code], self.lexicons[self.partner]
        out = []
        for text in texts:
            words = WORD.findall(text)
            hits = 0
            for word in words:
                key = word.casefold()
                if key.isascii() and own.get(key, 0.0) > other.get(key, 0.0):
                    hits += 1
            out.append(hits / len(words) if words else 0.0)
        return out
