"""Dictionary-level code-switching (CoSDA-ML style): words and phrases of a sentence replaced by
their translation from a bilingual dictionary, at a switching ratio, with a stopword policy.

Dictionaries are read from MUSE and dictd (FreeDict) files by :mod:`corpusforge.io.dictionaries`.
Spans are in code points of the switched text, as everywhere in :mod:`corpusforge.codeswitch`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from corpusforge.codeswitch.mentions import CasePolicy, Gazetteer, check_options
from corpusforge.codeswitch.switcher import DICTIONARY, Edit, Switched, apply_edits, selected_count
from corpusforge.hashing import StableDraws

# dictd POS tags (FreeDict) of function words: the stopwords a dictionary itself names.
FUNCTION_POS = frozenset(
    {"Det", "Prep", "Pron", "Conj", "AuxV", "Rel Pron", "Refl Pron", "Interro", "Part", "MV", "N/Det", "art", "prep", "pron", "conj"}
)


@dataclass
class BilingualDictionary:
    """Translations of source words and phrases (in the order the file gives them), and the
    source words the dictionary tags as function words (dictd POS tags, :data:`FUNCTION_POS`)."""

    src_lang: str
    tgt_lang: str
    entries: dict[str, list[str]] = field(default_factory=dict)
    function_words: set[str] = field(default_factory=set)
    name: str = "dictionary"

    def add(self, source: str, translation: str) -> None:
        source, translation = " ".join(source.split()), " ".join(translation.split())
        if source and translation:
            options = self.entries.setdefault(source, [])
            if translation not in options:
                options.append(translation)

    def __len__(self) -> int:
        return len(self.entries)


class DictionarySwitcher:
    """Switches words and phrases found in ``dictionary`` (longest match first, on word
    boundaries, ``case`` as :class:`~corpusforge.codeswitch.mentions.Gazetteer` takes it;
    default ``insensitive`` so a sentence-initial word matches).

    ``ratio``: ``round(ratio * n)`` of the ``n`` eligible matches are switched (drawn per record).
    Stopwords (``stopwords`` plus, with ``dictionary_stopwords``, the words the dictionary tags
    as function words): with ``stopword_policy="keep"`` they are never switched and do not count
    in ``n``; with ``"switch"`` they are treated like other words. ``translation``: the first
    translation the dictionary gives, or one drawn per record (``random``).
    """

    def __init__(
        self,
        *,
        dictionary: BilingualDictionary,
        ratio: float = 0.3,
        stopword_policy: Literal["keep", "switch"] = "keep",
        stopwords: list[str] | None = None,
        dictionary_stopwords: bool = True,
        translation: Literal["first", "random"] = "first",
        case: CasePolicy = "insensitive",
        markers: bool = False,
        seed: int = 0,
    ):
        if not 0.0 < ratio <= 1.0:
            raise ValueError(f"ratio must be in (0, 1], got {ratio}")
        if stopword_policy not in ("keep", "switch"):
            raise ValueError(f"stopword_policy must be keep or switch, got {stopword_policy!r}")
        if translation not in ("first", "random"):
            raise ValueError(f"translation must be first or random, got {translation!r}")
        check_options(case, 1)
        self.dictionary = dictionary
        self.ratio, self.stopword_policy, self.translation = ratio, stopword_policy, translation
        self.case, self.markers, self.seed = case, markers, seed
        self.stopwords = {w.lower() for w in stopwords or []} | (dictionary.function_words if dictionary_stopwords else set())
        self._gazetteer: Gazetteer | None = None

    @property
    def gazetteer(self) -> Gazetteer:
        if self._gazetteer is None:
            self._gazetteer = Gazetteer(((w, w, 0) for w in self.dictionary.entries), case=self.case, min_length=1)
        return self._gazetteer

    def describe(self) -> dict:
        return {
            "dictionary": self.dictionary.name,
            "src_lang": self.dictionary.src_lang,
            "tgt_lang": self.dictionary.tgt_lang,
            "ratio": self.ratio,
            "stopword_policy": self.stopword_policy,
            "translation": self.translation,
            "case": self.case,
            "seed": self.seed,
        }

    def switch(self, text: str, *, record_id: str = "", variant: int = 0) -> Switched:
        """``text`` with a ``ratio`` of its dictionary words switched; spans in code points."""
        found = self.gazetteer.find(text)
        if self.stopword_policy == "keep":
            found = [m for m in found if m.surface.lower() not in self.stopwords]
        draws = StableDraws(self.seed, record_id, variant)
        chosen = draws.sample(len(found), selected_count("fraction", len(found), fraction=self.ratio, k=1), "word")
        edits = []
        lang = self.dictionary.tgt_lang
        for i in chosen:
            mention = found[i]
            options = self.dictionary.entries[mention.key]
            replacement = options[0] if self.translation == "first" else draws.choice(options, "translation", mention.start)
            if replacement != mention.surface:
                edits.append(Edit(mention.start, mention.end, replacement, lang, mention.key, DICTIONARY))
        return apply_edits(text, edits, matrix_lang=self.dictionary.src_lang, markers=self.markers)
