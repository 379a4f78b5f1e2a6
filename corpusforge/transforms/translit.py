"""Transliteration stages: :class:`TransliterateStage` (``translit``: whole rows, runs of one
script, tagged tokens or listed words) and :class:`TransliterationPairs` (``translit_pairs``:
(original, transliteration) bitext for alignment training). The engines are in
:mod:`corpusforge.translit`; this module picks one per row and keeps every byte it does not convert.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Literal

import pyarrow as pa
import regex

from corpusforge.accounting import Tally
from corpusforge.languages import LanguageCodeError, canonical, canonical_or_none, language_of
from corpusforge.records import Split, kind_of, reject_where, stable_id, with_columns
from corpusforge.schemas import conform, load_schema
from corpusforge.transforms.base import Stage
from corpusforge.translit import (
    BRAHMIC,
    INFORMAL,
    ROMAN,
    URDU,
    UROMAN,
    Engine,
    TransliterationError,
    Transliterator,
    UromanTransliterator,
    check_pair,
    resolve,
    romanize,
    run_pattern,
)
from corpusforge.translit.perso_arabic import RULES_VERSION as URDU_RULES_VERSION
from corpusforge.translit.perso_arabic import aksharamukha_version
from corpusforge.translit.schemes import PERSO_ARABIC_SCRIPTS, URDU_LANGUAGES
from corpusforge.translit.universal import check_uroman, uroman_language, uroman_version

# Engine names this module has always exported (corpusforge.codeswitch imports some of them).
__all__ = [
    "BRAHMIC",
    "INFORMAL",
    "ROMAN",
    "TransliterateStage",
    "TransliterationError",
    "TransliterationPairs",
    "Transliterator",
    "UromanTransliterator",
    "resolve",
    "run_pattern",
]


Mode = Literal["segment", "script", "tag", "words"]
COPY = "copy"  # a row already in the target script


def _convert_rows(texts: list[str | None], engines: list[Engine | str | None]) -> list[str | None]:
    """Each text through its row's engine (one batch call per engine); COPY rows unchanged,
    rows without an engine null."""
    outputs = [t if e is COPY else None for t, e in zip(texts, engines)]
    groups: dict[int, tuple[Engine, list[int]]] = {}
    for i, engine in enumerate(engines):
        if not isinstance(engine, str) and engine is not None and texts[i] is not None:
            groups.setdefault(id(engine), (engine, []))[1].append(i)
    for engine, rows in groups.values():
        for i, out in zip(rows, engine.texts([texts[i] for i in rows])):
            outputs[i] = out
    return outputs


class TransliterateStage(Stage):
    """Adds a transliterated copy of a text column (or converts it in place, keeping the
    original in another column).

    Modes:
    - ``segment``: a row is converted when its script (``script_column`` if the batch has it,
      else the script of ``lang_column``) is a supported source; with an explicit ``source``,
      only rows in that source's script. Other rows get null (in place: stay as they are).
      Rows already in the target script are copied.
    - ``script``: every row; only runs in the ``source`` script change (mixed-script text keeps
      every other byte).
    - ``tag``: only tokens of ``tokens_column`` (``list<struct<token, tag>>``, as token-level LID
      writes it) whose tag names the language ``tag`` (script ignored: ``hi`` matches
      ``hin_Deva`` and ``hin_Latn``) change; the source is the tag's script unless ``source``
      is given. A row whose tokens cannot be found in order in its text is rejected
      (``tokens_misaligned``).
    - ``words``: only the words (runs of letters and marks) listed in ``words_file`` (one word a
      line, or ``word<TAB>class`` lines with ``word_class`` choosing one class), or, without
      ``words_file``, the tokens of ``tokens_column`` whose tag is exactly ``word_class`` (a
      per-token class from ``token_tags`` or a user's classifier). Every other byte is kept.
      Needs ``source`` unless the target is ``uroman``.

    ``uroman`` romanises any script: with ``source: auto`` each row whose script is not Latin is
    romanised whole exactly as ``uroman``'s ``romanize_string`` does (language-specific rules
    from the row's ``lang``); with a ``source`` only runs of that script change. Urdu
    (``urd_Arab``) converts to Devanagari and through it to every other target.

    ``informal`` romanisation deletes inherent vowels for the row's language (segment mode and
    script mode with a script-only ``source``), the ``source`` language, or the ``tag``.
    Bad ``source``/``target``/``tag`` values raise :class:`TransliterationError` here.
    """

    name = "translit"
    version = "1"
    kinds: tuple[str, ...] = ("segment", "bitext")

    def __init__(
        self,
        *,
        target: str,
        source: str = "auto",
        mode: Mode = "segment",
        tag: str | None = None,
        text_column: str = "text",
        lang_column: str = "lang",
        script_column: str = "script",
        tokens_column: str = "tokens",
        words_file: str | None = None,
        word_class: str | None = None,
        ignore_case: bool = False,
        in_place: bool = False,
        output_column: str = "text_translit",
        original_column: str = "text_original",
        cache_size: int = 200_000,
    ):
        if mode not in ("segment", "script", "tag", "words"):
            raise TransliterationError(f"mode must be segment, script, tag or words, not {mode!r}")
        self.target = resolve(target)
        self.source = None if source == "auto" else resolve(source)
        if self.target.scheme == UROMAN:
            check_uroman()
        if self.target.schemeless:
            raise TransliterationError(f"nothing here writes script {self.target.script}; it can be a source for target {UROMAN!r}")
        if self.source is not None:
            check_pair(self.source, self.target)
        self.mode = mode
        self.tag = tag
        self._tag_language = None
        if mode == "script" and self.source is None:
            raise TransliterationError("mode 'script' converts tokens of one script: give source (e.g. source='Deva')")
        if mode == "tag":
            if not tag:
                raise TransliterationError("mode 'tag' needs tag, the language whose tokens change (e.g. tag='hi')")
            try:
                self._tag_language = language_of(canonical(tag))
            except (LanguageCodeError, LookupError) as exc:
                raise TransliterationError(f"tag {tag!r} is not a language code: {exc}") from exc
            if self.source is None:
                self.source = check_pair(resolve(tag), self.target)[0]  # raises for unsupported scripts (tag 'ur')
        elif tag is not None:
            raise TransliterationError("tag is only used in mode 'tag'")
        if mode == "words":
            if words_file is None and not word_class:
                raise TransliterationError("mode 'words' needs words_file (a word list) or word_class (a tag in tokens_column)")
            if words_file is not None and not Path(words_file).is_file():
                raise TransliterationError(f"words_file {words_file!r} is not a file")
            if self.source is None and self.target.scheme != UROMAN:
                raise TransliterationError("mode 'words' converts words of one script: give source (e.g. source='Deva')")
        elif words_file is not None or word_class is not None:
            raise TransliterationError("words_file and word_class are only used in mode 'words'")
        self.words_file, self.word_class, self.ignore_case = words_file, word_class, ignore_case
        self._words: frozenset[str] | None = None
        if in_place and original_column == text_column:
            raise TransliterationError("original_column must differ from text_column")
        if not in_place and output_column == text_column:
            raise TransliterationError("output_column must differ from text_column (or set in_place)")
        self.source_spec = source
        # Bitext has no ``text``: a stage on src_text/tgt_text works on pairs, any other on segments.
        self.kinds = ("bitext",) if text_column in ("src_text", "tgt_text") else ("segment",)
        self.text_column, self.lang_column, self.script_column = text_column, lang_column, script_column
        self.tokens_column = tokens_column
        self.in_place, self.output_column, self.original_column = in_place, output_column, original_column
        self.cache_size = cache_size
        self._engines: dict[tuple[str | None, str | None], Engine] = {}

    def setup(self) -> None:
        if self.source is not None:
            self._engine(self.source.scheme, self.source.language or self._tag_language)
        elif self.target.scheme == UROMAN:
            self._engine(None, None)  # loads uroman's tables (once per process)
        if self.mode == "words" and self.words_file is not None:
            self._listed_words()

    def _engine(self, scheme: str | None, language: str | None) -> Engine:
        """The engine for a source scheme (None: uroman on whole texts) and a row language."""
        if self.target.scheme == UROMAN:
            language = uroman_language(language)
        elif self.target.scheme != INFORMAL or language not in romanize.SCHWA_LANGUAGES:
            language = None
        key = (scheme, language)
        found = self._engines.get(key)
        if found is not None:
            return found
        engine: Engine
        if self.target.scheme == UROMAN:
            engine = UromanTransliterator(source=scheme, language=language, cache_size=self.cache_size)
        else:
            assert scheme is not None  # only uroman reads whole texts without a source
            engine = Transliterator(source=scheme, target=self.target.scheme, language=language, cache_size=self.cache_size)
        self._engines[key] = engine
        return engine

    def _listed_words(self) -> frozenset[str]:
        """The words of ``words_file`` (of ``word_class`` when the file has a class column)."""
        if self._words is None:
            assert self.words_file is not None
            words = set()
            with open(self.words_file, encoding="utf-8") as f:
                for line in f:
                    line = line.rstrip("\n").rstrip("\r")
                    if not line.strip() or line.startswith("#"):
                        continue
                    word, _, cls = line.partition("\t")
                    if self.word_class is None or cls.strip() == self.word_class:
                        words.add(word.strip().casefold() if self.ignore_case else word.strip())
            self._words = frozenset(words)
        return self._words

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_engines": {}, "_words": None}

    def output_fields(self, kind: str) -> list[pa.Field]:
        if self.in_place:
            return [pa.field(self.original_column, pa.string(), metadata={"doc": f"{self.text_column} before transliteration."})]
        doc = f"{self.text_column} transliterated to {self.target.scheme}; null when the row was not converted."
        return [pa.field(self.output_column, pa.string(), metadata={"doc": doc})]

    def describe(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source_spec,
            "target": self.target.scheme,
            "mode": self.mode,
            "tag": self.tag,
            "indic_transliteration": metadata.version("indic-transliteration"),
            "informal_rules": romanize.RULES_VERSION,
            **self._library_versions(),
        }

    def _library_versions(self) -> dict[str, str]:
        """Versions of the libraries whose output this stage's output is (only those it uses, so
        earlier recipes describe themselves as before)."""
        out = {}
        if self.mode == "words":
            out.update({"words_file": str(self.words_file), "word_class": str(self.word_class), "ignore_case": str(self.ignore_case)})
        if self.target.scheme == UROMAN:
            out["uroman"] = uroman_version()
        schemes = {self.target.scheme, self.source.scheme if self.source else None}
        if URDU in schemes or (self.source is None and self.target.scheme != UROMAN):
            out["urdu_rules"] = URDU_RULES_VERSION
            if self.target.scheme == URDU:
                out["aksharamukha"] = aksharamukha_version()
        return out

    def process(self, batch: pa.RecordBatch) -> Split:
        texts = batch.column(self.text_column).to_pylist()
        misaligned: list[str | None] = []
        if self.mode == "tag":
            outputs, misaligned = self._tagged(batch, texts, self._tag_matches)
        elif self.mode == "words" and self.words_file is None:
            outputs, misaligned = self._tagged(batch, texts, lambda tag: tag == self.word_class)
        elif self.mode == "words":
            outputs = self._listed(texts)
        else:
            outputs = _convert_rows(texts, self._row_engines(batch))
        if self.in_place:
            original = batch.column(self.text_column)
            fields = [batch.schema.field(self.text_column), self.output_fields("")[0]]
            arrays = [pa.array([t if o is None else o for o, t in zip(outputs, texts)], original.type), original]
        else:
            fields, arrays = self.output_fields(""), [pa.array(outputs, pa.string())]
        out = with_columns(batch, fields, arrays)
        if not any(misaligned):
            return Split.keep_all(out)
        kind = kind_of(batch)
        mask = [detail is not None for detail in misaligned]
        return reject_where(
            out, mask, stage=self.name, kind=kind, reason="tokens_misaligned", detail=misaligned, text_column=self.text_column
        )

    @staticmethod
    def _column(batch: pa.RecordBatch, name: str) -> list:
        return batch.column(name).to_pylist() if name in batch.schema.names else [None] * batch.num_rows

    def _fixed_engine(self, row_lang: str | None) -> Engine:
        """The engine for an explicit source (or uroman on whole words); informal romanisation
        follows the source's language, else the tag's, else the row's."""
        if self.source is None:  # uroman in mode 'words' (checked in __init__)
            return self._engine(None, _language(row_lang))
        return self._engine(self.source.scheme, self.source.language or self._tag_language or _language(row_lang))

    def _row_engines(self, batch: pa.RecordBatch) -> list[Engine | str | None]:
        """Per row: the engine that converts it, :data:`COPY` (already in the target script) or
        None (not converted). Decided once per distinct (lang, script) in the batch."""
        names = batch.schema.names
        if self.mode == "segment" and self.source is None and self.lang_column not in names and self.script_column not in names:
            raise ValueError(f"source='auto' needs a {self.lang_column!r} or {self.script_column!r} column; the batch has {names}")
        langs, scripts = self._column(batch, self.lang_column), self._column(batch, self.script_column)
        plan: dict[tuple, Engine | str | None] = {}
        engines = []
        for key in zip(langs, scripts):
            if key not in plan:
                plan[key] = self._decide(*key)
            engines.append(plan[key])
        return engines

    def _decide(self, lang: str | None, script: str | None) -> Engine | str | None:
        if self.mode == "script":
            return self._fixed_engine(lang)
        row_script = script if script and script not in ("Zyyy", "Zinh", "Zzzz") else _script(lang)
        if self.source is not None:
            return self._fixed_engine(lang) if row_script in (None, self.source.script) else None
        if row_script == self.target.script and not self.target.roman:
            return COPY
        language = _language(lang)
        if self.target.scheme == UROMAN:
            return None if row_script in (None, "Latn") else self._engine(None, language)
        if row_script in BRAHMIC:
            return self._engine(BRAHMIC[row_script], language)
        if row_script in PERSO_ARABIC_SCRIPTS and language in (None, *URDU_LANGUAGES):
            return self._engine(URDU, language)
        return None

    def _listed(self, texts: list[str | None]) -> list[str | None]:
        """Outputs of mode 'words' with a word list: listed words converted, all else kept."""
        listed, fold = self._listed_words(), self.ignore_case
        rows: list[list[str] | None] = []
        chosen: dict[str, None] = {}
        for text in texts:
            if text is None:
                rows.append(None)
                continue
            pieces = _WORDS.split(text)
            for word in pieces[1::2]:
                if (word.casefold() if fold else word) in listed:
                    chosen[word] = None
            rows.append(pieces)
        words = list(chosen)
        converted = dict(zip(words, self._fixed_engine(None).texts(words))) if words else {}
        out: list[str | None] = []
        for pieces in rows:
            if pieces is None:
                out.append(None)
                continue
            pieces[1::2] = [converted.get(w, w) for w in pieces[1::2]]
            out.append("".join(pieces))
        return out

    def _tagged(
        self, batch: pa.RecordBatch, texts: list[str | None], match: Callable[[str | None], bool]
    ) -> tuple[list[str | None], list[str | None]]:
        """Outputs (tokens whose tag ``match``es converted), and per row None or why its tokens
        do not fit its text."""
        if self.tokens_column not in batch.schema.names:
            raise ValueError(
                f"mode {self.mode!r} needs a {self.tokens_column!r} column (list<struct<token, tag>>); the batch has {batch.schema.names}"
            )
        column = batch.column(self.tokens_column)
        offsets = column.offsets.to_pylist()
        flat = column.flatten()
        tokens, tags = flat.field("token").to_pylist(), flat.field("tag").to_pylist()
        valid = column.is_valid().to_pylist()
        matches = functools.lru_cache(maxsize=1024)(match)
        # Pass 1: cut each text into kept pieces and tagged tokens (ints: index into `chosen`).
        rows: list[list[str | int] | None] = []
        chosen: list[str] = []
        problems: list[str | None] = []
        for row, text in enumerate(texts):
            pieces: list[str | int] = []
            cursor, misaligned = 0, None
            if text is not None and valid[row]:
                for k in range(offsets[row], offsets[row + 1]):
                    token = tokens[k] or ""
                    at = text.find(token, cursor)
                    if at < 0:
                        misaligned = token
                        break
                    if matches(tags[k]):
                        pieces += [text[cursor:at], len(chosen)]
                        chosen.append(token)
                        cursor = at + len(token)
            problems.append(None if misaligned is None else f"token {misaligned[:80]!r} not found in order in {self.text_column}")
            if text is None or misaligned is not None:
                rows.append(None)
                continue
            pieces.append(text[cursor:])
            rows.append(pieces)
        # Pass 2: convert the tagged tokens together, then reassemble.
        converted = self._fixed_engine(None).texts(chosen) if chosen else []
        outputs = [None if p is None else "".join(converted[x] if isinstance(x, int) else x for x in p) for p in rows]
        return outputs, problems

    def _tag_matches(self, tag: str | None) -> bool:
        if not tag:
            return False
        if tag == self.tag:
            return True
        return _language(tag) == self._tag_language


_canonical = canonical_or_none
# Words for mode 'words': runs of letters and marks (joiners inside), as a capturing group for split.
_WORDS = regex.compile(r"((?:[\p{L}\p{M}]|[\u200c\u200d](?=[\p{L}\p{M}]))+)")


def _language(code: str | None) -> str | None:
    full = _canonical(code)
    return full.split("_", 1)[0] if full else None


def _script(code: str | None) -> str | None:
    full = _canonical(code)
    return full.split("_", 1)[1] if full else None


class TransliterationPairs(Stage):
    """Turns transliterated segments into ``bitext`` pairs (original, transliteration) with
    ``origin="transliteration"`` and ``source_id`` = the segment's id, for alignment training.

    Its kept rows are new records: count them as ``created`` (:meth:`tally`), not ``out``.
    Rows without a transliteration (null) or whose transliteration equals the original make no
    pair. Ids are ``stable_id(segment id, "transliteration", target)``.
    """

    name = "translit_pairs"
    version = "1"
    kinds = ("segment",)
    derives = "bitext"

    def __init__(
        self,
        *,
        target: str,
        original_column: str = "text",
        transliterated_column: str = "text_translit",
        lang_column: str = "lang",
    ):
        self.target = resolve(target)
        self.original_column, self.transliterated_column, self.lang_column = original_column, transliterated_column, lang_column
        self.requires = (transliterated_column,)

    def process(self, batch: pa.RecordBatch) -> Split:
        names = batch.schema.names
        for column in (self.original_column, self.transliterated_column):
            if column not in names:
                raise ValueError(f"{self.name} needs column {column!r}; the batch has {names}")
        originals = batch.column(self.original_column).to_pylist()
        converted = batch.column(self.transliterated_column).to_pylist()
        langs = TransliterateStage._column(batch, self.lang_column)
        ids, sources = batch.column("id").to_pylist(), batch.column("source").to_pylist()
        rows = []
        for rid, source, original, out, lang in zip(ids, sources, originals, converted, langs):
            if out is None or original is None or out == original:
                continue
            language = _language(lang)
            rows.append(
                {
                    "id": stable_id(rid, "transliteration", self.target.scheme),
                    "source": source,
                    "src_text": original,
                    "tgt_text": out,
                    "src_lang": _canonical(lang),
                    "tgt_lang": f"{language}_{self.target.script}" if language else None,
                    "origin": "transliteration",
                    "source_id": rid,
                    "meta": [("scheme", self.target.scheme)],
                }
            )
        schema = load_schema("bitext")
        pairs = conform(pa.Table.from_pylist(rows, schema=schema), schema).to_batches()
        return Split.keep_all(pairs[0] if pairs else pa.RecordBatch.from_pylist([], schema=schema))

    def tally(self, split: Split) -> Tally:
        """Row counts for the run manifest: every pair is a ``created`` row."""
        return Tally.of_rows(self.name, "created", split.kept)
