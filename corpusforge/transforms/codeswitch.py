"""The code-switching stages: ``segment`` batches in, new ``codeswitch`` records out, built by the
engines of :mod:`corpusforge.codeswitch` (entity switching from a lexicon, dictionary switching
from a bilingual dictionary read by :mod:`corpusforge.io.dictionaries`)."""

from __future__ import annotations

import abc
import os
from typing import Any, Literal

import pyarrow as pa

from corpusforge.accounting import Tally
from corpusforge.codeswitch.dictionary import BilingualDictionary, DictionarySwitcher
from corpusforge.codeswitch.lexicon import EntityLexicon, cldr_lexicon, cldr_lexicon_id
from corpusforge.codeswitch.mentions import CasePolicy, MentionError, given_mentions
from corpusforge.codeswitch.switcher import (
    DICTIONARY,
    ENTITY,
    EntitySwitcher,
    MentionSource,
    Missing,
    Policy,
    Switched,
    TargetMode,
    codeswitch_batch,
    codeswitch_record,
    language_option,
)
from corpusforge.io.dictionaries import read_dictd, read_muse
from corpusforge.records import Rejections, Split, stable_id
from corpusforge.schemas import entries_dict
from corpusforge.transforms.base import Stage


class SwitchStage(Stage):
    """Base of the switching stages: ``segment`` batches in, new ``codeswitch`` records out
    (``variants`` per segment, variant ``v`` seeded with ``v``). Rows whose ``lang`` is set and
    is not the matrix language, rows without text, and rows with nothing to switch make no
    record (the segment itself is the recipe's to write). A row whose given input cannot be
    used (bad mention spans) becomes one rejected ``codeswitch`` row.

    The kept rows are new records: count them with :meth:`tally` (``created``), not as ``out``.
    Each record's ``meta`` holds the segment's meta plus ``cs.stage``, ``cs.version``,
    ``cs.variant`` and the switcher's settings (``cs.<name>``).
    """

    kinds = ("segment",)
    derives = "codeswitch"
    method: str = ENTITY

    def __init__(self, *, variants: int, text_column: str, lang_column: str):
        if variants < 1:
            raise ValueError(f"variants must be at least 1, got {variants}")
        self.variants = variants
        self.text_column = text_column
        self.lang_column = lang_column

    @property
    @abc.abstractmethod
    def matrix_lang(self) -> str:
        """The language the input rows must be in."""

    @abc.abstractmethod
    def settings(self) -> dict:
        """The switcher's settings, recorded in ``describe`` and each record's meta."""

    @abc.abstractmethod
    def switch_row(self, text: str, *, record_id: str, variant: int, extra: object) -> Switched:
        """One variant of one row (may raise MentionError)."""

    def row_extras(self, batch: pa.RecordBatch) -> list:
        """Per-row input besides the text (given mentions), one item per row."""
        return [None] * batch.num_rows

    def describe(self) -> dict:
        return {**super().describe(), "variants": self.variants, **self.settings()}

    def process(self, batch: pa.RecordBatch) -> Split:
        self.setup()
        if self.text_column not in batch.schema.names:
            raise ValueError(f"{self.name} needs column {self.text_column!r}; the batch has {batch.schema.names}")
        texts = batch.column(self.text_column).to_pylist()
        ids, sources = batch.column("id").to_pylist(), batch.column("source").to_pylist()
        langs = batch.column(self.lang_column).to_pylist() if self.lang_column in batch.schema.names else [None] * batch.num_rows
        metas = batch.column("meta").to_pylist() if "meta" in batch.schema.names else [None] * batch.num_rows
        provenance = {f"cs.{k}": v if isinstance(v, str) else str(v) for k, v in self.describe().items() if k not in ("name", "version")}
        provenance.update({"cs.stage": self.name, "cs.version": self.version})
        rows, rejected = [], Rejections(stage=self.name, kind="codeswitch")
        for text, rid, source, lang, meta, extra in zip(texts, ids, sources, langs, metas, self.row_extras(batch)):
            if not text or (lang is not None and lang != self.matrix_lang):
                continue
            for variant in range(self.variants):
                try:
                    switched = self.switch_row(text, record_id=rid, variant=variant, extra=extra)
                except MentionError as exc:
                    rejected.add(id=stable_id(rid, self.method, variant), source=source, reason="bad_mentions", detail=str(exc), raw=text)
                    break
                if switched.spans:
                    carried = entries_dict(meta)
                    carried.update(provenance)
                    carried["cs.variant"] = str(variant)
                    rows.append(
                        codeswitch_record(switched, source=source, source_id=rid, method=self.method, variant=variant, meta=carried)
                    )
        return Split(codeswitch_batch(rows), rejected.to_batch())

    def tally(self, split: Split) -> Tally:
        """Counts for the run manifest: every record made or refused was ``created`` here; the
        refused ones are also ``rejected`` (by reason), so rows created = written + rejected."""
        tally = Tally.of_rows(self.name, "created", split.kept)
        tally += Tally.of_rows(self.name, "created", split.rejected)
        tally += Tally.of_split(self.name, Split(split.kept.slice(0, 0), split.rejected))
        return tally


class EntitySwitchStage(SwitchStage):
    """:class:`EntitySwitcher` as a stage: ``segment`` rows in, ``codeswitch`` records out.

    Lexicon: ``lexicon_path`` (Parquet file or shard directory, :data:`LEXICON_SCHEMA`), else
    the embedded CLDR lexicon in ``source_lang`` and the targets; loaded in :meth:`setup`, or
    handed over with :meth:`use_lexicon` (the Beam build passes one built in the same pipeline).
    Mentions: ``gazetteer``; ``wikilinks`` (the text column holds wikitext; records keep the
    plain text as ``source_text``); ``given`` (``mentions_column`` holds a list of ``{start,
    end, entity_id}`` structs in code points; rows without it use the gazetteer).
    """

    name = "entity_switch"
    version = "1"
    method = ENTITY

    def __init__(
        self,
        *,
        lexicon_path: str | None = None,
        mentions: MentionSource = "gazetteer",
        mentions_column: str = "mentions",
        source_lang: str = "eng_Latn",
        targets: list[str],
        target_mode: TargetMode = "sentence",
        policy: Policy = "all",
        fraction: float = 0.5,
        k: int = 1,
        missing: Missing = "skip",
        markers: bool = False,
        case: CasePolicy = "sensitive",
        min_length: int = 2,
        seed: int = 0,
        variants: int = 1,
        text_column: str = "text",
        lang_column: str = "lang",
    ):
        super().__init__(variants=variants, text_column=text_column, lang_column=lang_column)
        if lexicon_path is not None and not os.path.exists(lexicon_path):
            raise ValueError(f"lexicon_path {lexicon_path} does not exist")
        if mentions not in ("gazetteer", "wikilinks", "given"):
            raise ValueError(f"mentions must be gazetteer, wikilinks or given, got {mentions!r}")
        self.lexicon_path = lexicon_path
        self.mentions = mentions
        self.mentions_column = mentions_column
        self._options: dict[str, Any] = dict(
            source_lang=source_lang, targets=targets, target_mode=target_mode, policy=policy, fraction=fraction,
            k=k, missing=missing, markers=markers, case=case, min_length=min_length, seed=seed,
        )  # fmt: skip
        self._switcher: EntitySwitcher | None = None
        probe = EntitySwitcher(lexicon=EntityLexicon(), **self._options)  # validates every option now
        self._languages = [probe.source_lang, *probe.targets]
        self._settings = {**probe.describe(), "mentions": mentions, "lexicon": lexicon_path or cldr_lexicon_id()}

    @property
    def matrix_lang(self) -> str:
        return self._languages[0]

    def settings(self) -> dict:
        return dict(self._settings)

    @property
    def lexicon_languages(self) -> list[str] | None:
        """Languages whose labels the stage needs (None: all, to transliterate from any)."""
        return None if self._options["missing"] == "transliterate" else list(self._languages)

    def setup(self) -> None:
        if self._switcher is None:
            if self.lexicon_path is not None:
                lexicon = EntityLexicon.read_parquet(self.lexicon_path, languages=self.lexicon_languages)
            else:
                lexicon = cldr_lexicon(languages=self.lexicon_languages)
            self.use_lexicon(lexicon)

    def use_lexicon(self, lexicon: EntityLexicon) -> None:
        """Switch with ``lexicon`` (instead of loading ``lexicon_path`` in :meth:`setup`)."""
        self._switcher = EntitySwitcher(lexicon=lexicon, **self._options)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_switcher"] = None  # workers load or receive the lexicon themselves
        return state

    def row_extras(self, batch: pa.RecordBatch) -> list:
        if self.mentions == "given" and self.mentions_column in batch.schema.names:
            return batch.column(self.mentions_column).to_pylist()
        return super().row_extras(batch)

    def switch_row(self, text: str, *, record_id: str, variant: int, extra: object) -> Switched:
        switcher = self._switcher
        assert switcher is not None  # process() calls setup() first
        if self.mentions == "wikilinks":
            return switcher.switch_wikitext(text, record_id=record_id, variant=variant)
        mentions = None
        if extra is not None:
            if not isinstance(extra, list):
                raise MentionError(f"given mentions must be a list of {{start, end, entity_id}} structs, got {extra!r}")
            mentions = given_mentions(text, extra, switcher.gazetteer.lookup)
        return switcher.switch(text, mentions=mentions, record_id=record_id, variant=variant)


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
            read = read_muse if self.format == "muse" else read_dictd
            dictionary = read(self.dictionary_path, src_lang=self._settings["src_lang"], tgt_lang=self._settings["tgt_lang"])
            self._switcher = DictionarySwitcher(dictionary=dictionary, **self._options)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_switcher"] = None
        return state

    def switch_row(self, text: str, *, record_id: str, variant: int, extra: object) -> Switched:
        assert self._switcher is not None  # process() calls setup() first
        return self._switcher.switch(text, record_id=record_id, variant=variant)
