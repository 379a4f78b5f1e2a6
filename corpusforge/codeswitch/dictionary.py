"""Dictionary-level code-switching (CoSDA-ML style): words and phrases of a sentence replaced by
their translation from a bilingual dictionary, at a switching ratio, with a stopword policy.

Dictionaries: MUSE-style files (one ``source target`` pair a line, whitespace-separated; a
source word on several lines has several translations) and dictd files as FreeDict ships them
(``name.index`` + ``name.dict.dz``, e.g. Debian's ``dict-freedict-eng-hin``). Spans are in code
points of the switched text, as everywhere in :mod:`corpusforge.codeswitch`.
"""

from __future__ import annotations

import gzip
import os
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import regex

from corpusforge.codeswitch.mentions import CasePolicy, Gazetteer, check_options
from corpusforge.codeswitch.switcher import (
    DICTIONARY,
    Edit,
    StableDraws,
    Switched,
    SwitchStage,
    apply_edits,
    language_option,
    selected_count,
)
from corpusforge.io.base import read_lines
from corpusforge.io.compression import open_input
from corpusforge.languages import script_of

# dictd POS tags (FreeDict) of function words: the stopwords a dictionary itself names.
FUNCTION_POS = frozenset(
    {"Det", "Prep", "Pron", "Conj", "AuxV", "Rel Pron", "Refl Pron", "Interro", "Part", "MV", "N/Det", "art", "prep", "pron", "conj"}
)
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_HEAD = re.compile(r"^(?P<head>.+?)(?:\s+/[^/]*/)?(?:\s+\(.*\))?(?:\s+<(?P<pos>[^<>]*)>)?\s*$")
_SENSE = re.compile(r"^\d+\.\s+")
_ANNOTATION = re.compile(r"<[^<>]*>|\[[^\[\]]*\]|\([^()]*\)")
_SKIP_LINE = re.compile(r"^(?:see:|note:|synonyms?:|antonyms?:|\")", re.I)
_LETTER = regex.compile(r"\p{L}")


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

    @classmethod
    def from_muse(cls, path: str, *, src_lang: str, tgt_lang: str) -> BilingualDictionary:
        """A MUSE file: ``source target`` per line (space or tab); compressed files too. A line
        with other than two fields raises ValueError naming ``path:line``."""
        out = cls(language_option(src_lang, "src_lang"), language_option(tgt_lang, "tgt_lang"), name=os.path.basename(path))
        with open_input(path) as stream:
            for line in read_lines(stream, 1 << 20):
                if line.reason:
                    raise ValueError(f"{path}:{line.number}: {line.detail}")
                assert line.text is not None  # read_lines gives text whenever it gives no reason
                parts = line.text.split()
                if not parts:
                    continue
                if len(parts) != 2:
                    raise ValueError(f"{path}:{line.number}: expected 'source target', got {line.text!r}")
                out.add(*parts)
        return out

    @classmethod
    def from_dictd(cls, path: str, *, src_lang: str, tgt_lang: str) -> BilingualDictionary:
        """A dictd dictionary: ``path`` is the ``.index`` file or the name without extension;
        the body is ``.dict.dz`` (gzip/dictzip) or ``.dict`` beside it.

        Each index line is ``headword<TAB>offset<TAB>length`` (base64 numbers) pointing into the
        body. An entry's first line is ``headword /pronunciation/ <POS>``; translations are the
        unindented lines after it (``1. अनुवाद`` or ``Wort <gram>, Wort``: numbering, ``<...>``,
        ``[...]`` and ``(...)`` removed, split at ``,`` and ``;``, ``~`` read as a space);
        indented lines (examples, notes) and ``see:`` lines are skipped. When the target's script
        is not Latin, candidates without a letter of that script are dropped (FreeDict eng-hin
        has English example sentences numbered like senses). Entries the index names under
        several keys are read once; dictd's ``00database*`` entries are skipped.
        """
        base = path[: -len(".index")] if path.endswith(".index") else path
        index = base + ".index"
        body_path = next((p for p in (base + ".dict.dz", base + ".dict") if os.path.exists(p)), None)
        if not os.path.exists(index) or body_path is None:
            raise FileNotFoundError(f"dictd dictionary {base}: need {index} and {base}.dict.dz (or .dict)")
        out = cls(language_option(src_lang, "src_lang"), language_option(tgt_lang, "tgt_lang"), name=os.path.basename(base))
        script = script_of(out.tgt_lang)
        in_script = None if script == "Latn" else regex.compile(rf"\p{{sc={script}}}")
        opener = gzip.open if body_path.endswith(".dz") else open
        with opener(body_path, "rb") as f:
            body = f.read()
        seen: set[tuple[int, int]] = set()
        with open(index, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 3:
                    raise ValueError(f"{index}:{number}: expected 'headword<TAB>offset<TAB>length'")
                key, offset, length = parts[0], _b64(parts[1], index, number), _b64(parts[2], index, number)
                if not key or key.startswith("00database") or (offset, length) in seen:
                    continue
                seen.add((offset, length))
                out._add_entry(body[offset : offset + length].decode("utf-8", "replace"), in_script)
        return out

    def _add_entry(self, entry: str, in_script) -> None:
        lines = entry.split("\n")
        head = _HEAD.match(lines[0].strip())
        if head is None:
            return
        headword = head.group("head").strip()
        if head.group("pos") and head.group("pos").strip() in FUNCTION_POS:
            self.function_words.add(headword.lower())
        for line in lines[1:]:
            if not line.strip() or line[:2].isspace() or _SKIP_LINE.match(line.strip()):
                continue
            text = _ANNOTATION.sub(" ", _SENSE.sub("", line.strip())).replace("~", " ")
            for candidate in re.split(r"[,;]", text):
                candidate = candidate.strip()
                if candidate and _LETTER.search(candidate) and (in_script is None or in_script.search(candidate)):
                    self.add(headword, candidate)


def _b64(value: str, path: str, number: int) -> int:
    total = 0
    for char in value:
        if char not in _B64:
            raise ValueError(f"{path}:{number}: {value!r} is not a dictd base64 number")
        total = total * 64 + _B64[char]
    return total


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


class DictionarySwitchStage(SwitchStage):
    """:class:`DictionarySwitcher` as a stage: ``segment`` rows in ``src_lang``, ``codeswitch``
    records out. ``dictionary_path`` is a MUSE file (``format="muse"``) or a dictd ``.index``
    file or base name (``format="dictd"``), read in :meth:`setup`."""

    name = "dictionary_switch"
    version = "1"
    method = DICTIONARY

    def __init__(
        self,
        *,
        dictionary_path: str,
        format: Literal["muse", "dictd"] = "muse",
        src_lang: str,
        tgt_lang: str,
        ratio: float = 0.3,
        stopword_policy: Literal["keep", "switch"] = "keep",
        stopwords: list[str] | None = None,
        dictionary_stopwords: bool = True,
        translation: Literal["first", "random"] = "first",
        case: CasePolicy = "insensitive",
        markers: bool = False,
        seed: int = 0,
        variants: int = 1,
        text_column: str = "text",
        lang_column: str = "lang",
    ):
        super().__init__(variants=variants, text_column=text_column, lang_column=lang_column)
        if format not in ("muse", "dictd"):
            raise ValueError(f"format must be muse or dictd, got {format!r}")
        exists = os.path.exists(dictionary_path) or (format == "dictd" and os.path.exists(dictionary_path + ".index"))
        if not exists:
            raise ValueError(f"dictionary_path {dictionary_path} does not exist")
        self.dictionary_path, self.format = dictionary_path, format
        empty = BilingualDictionary(
            language_option(src_lang, "src_lang"), language_option(tgt_lang, "tgt_lang"), name=os.path.basename(dictionary_path)
        )
        self._options: dict[str, Any] = dict(
            ratio=ratio, stopword_policy=stopword_policy, stopwords=stopwords, dictionary_stopwords=dictionary_stopwords,
            translation=translation, case=case, markers=markers, seed=seed,
        )  # fmt: skip
        self._settings = DictionarySwitcher(dictionary=empty, **self._options).describe()  # validates the options now
        self._switcher: DictionarySwitcher | None = None

    @property
    def matrix_lang(self) -> str:
        return self._settings["src_lang"]

    def settings(self) -> dict:
        return dict(self._settings)

    def setup(self) -> None:
        if self._switcher is None:
            read = BilingualDictionary.from_muse if self.format == "muse" else BilingualDictionary.from_dictd
            dictionary = read(self.dictionary_path, src_lang=self._settings["src_lang"], tgt_lang=self._settings["tgt_lang"])
            self._switcher = DictionarySwitcher(dictionary=dictionary, **self._options)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_switcher"] = None
        return state

    def switch_row(self, text: str, *, record_id: str, variant: int, extra: object) -> Switched:
        assert self._switcher is not None  # process() calls setup() first
        return self._switcher.switch(text, record_id=record_id, variant=variant)
