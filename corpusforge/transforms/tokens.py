"""Token-level language tags for code-mixed text: an ordered ``tokens`` column of
``{token, tag}`` structs per segment.

Tags: a canonical language code (``hin_Deva``), ``other`` for language-independent tokens
(numbers, punctuation, URLs, e-mail addresses, emoji, @mentions, #hashtags, placeholders such as
``{name}``, ``%s``, ``%(name)s``, ``<ENT>``) and ``und`` for a word no candidate language could
take.

How a word gets its language:

0. A codeswitch record with spans is tagged from them: a word inside a span takes the span's
   language, any other word the matrix language (no guessing; the steps below are skipped).
1. Candidate languages of the row: the stage's ``languages``, else the row's ``lang`` (for
   codeswitch records ``matrix_lang`` and ``embedded_langs``) and the ``lang_topk`` entries
   scoring at least ``min_topk_score``. A romanised language brings the language it mixes with
   (``hin_Latn`` brings ``eng_Latn``: Hinglish is Hindi with English words).
2. The word's script (its letters' dominant Unicode script) keeps the candidates written in it
   (``script_compatible``); when none is, ``script_languages`` maps the script to a language
   (by default ``{"Latn": "eng_Latn"}``: English words in Hindi, Urdu or Chinese text); else the
   word is ``und``.
3. Words with one candidate take it. Words with several (same script: Spanish and English,
   romanised Hindi and English) are decided jointly over the row by Viterbi decoding
   (:func:`corpusforge.lid.romanized.decode`): emission log P(word | language) from
   per-language frequency lexicons (relative frequency, floored at ``oov_prob``), transition
   log(1 - switch_prob) to stay and log(switch_prob / (K - 1)) to switch. That is the context
   smoothing: an ambiguous or unknown word takes the language around it unless its lexicon
   evidence outweighs the switch penalty. Ties go to the first candidate (the row's ``lang``).

Lexicons: a language without a user file takes its built-in lexicon
(:func:`corpusforge.lid.lexicons.builtin_lexicon`: wordfreq's list of the language, or for
``hin_Latn`` wordfreq's Hindi list romanised), built the first time a row needs it in a worker
process and shared there; ``builtin_lexicons: false`` turns that off (such a language then scores
every word at the floor). User lexicon files (one per language, by path): one word per line,
optionally followed by whitespace and a count (``the 23135851162``); a word without a count
counts 1. Words are matched case-folded. Cost: per-row Python (tokenising and decoding),
~10-30 µs per short row, plus ~1-4 s per built-in lexicon per process.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.codeswitch.tokens import OTHER, UNDETERMINED, span_pieces, tag_pieces, tokenize
from corpusforge.languages import LanguageCodeError, canonical, script_compatible
from corpusforge.lid.lexicons import ROMANIZED, builtin_lexicon, lexicon_versions, load_lexicon
from corpusforge.lid.romanized import decode
from corpusforge.records import Split, kind_of, with_columns
from corpusforge.scripts import word_script
from corpusforge.transforms.base import Stage

TOKENS_TYPE = pa.list_(pa.struct([pa.field("token", pa.string()), pa.field("tag", pa.string())]))
TOKENS_FIELD = pa.field(
    "tokens", TOKENS_TYPE, metadata={"doc": "Tokens in order, each with a language code, 'other' (language-independent) or 'und'."}
)


class TokenTagger(Stage):
    """Adds ``tokens``: each token of ``text`` with its language tag (see the module docstring).
    Keeps every row."""

    name = "token_tags"
    version = "2"  # 2: built-in lexicons, Latin words in other scripts are eng_Latn by default, romanised partners
    kinds = ("segment", "codeswitch")

    def __init__(
        self,
        *,
        languages: list[str] | None = None,
        script_languages: dict[str, str] | None = None,
        lexicons: dict[str, str] | None = None,
        builtin_lexicons: bool = True,
        min_topk_score: float = 0.1,
        switch_prob: float = 0.1,
        oov_prob: float = 1e-7,
    ):
        try:
            self.languages = [canonical(code) for code in languages] if languages is not None else None
            self._script_languages_given = bool(script_languages)
            given = {"Latn": "eng_Latn"} if script_languages is None else script_languages
            self.script_languages = {script: canonical(code) for script, code in given.items()}
            lexicon_paths = {canonical(code): str(path) for code, path in (lexicons or {}).items()}
        except LanguageCodeError as exc:
            raise ValueError(f"TokenTagger: {exc}") from exc
        for code, path in lexicon_paths.items():
            if not Path(path).is_file():
                raise ValueError(f"lexicon for {code} not found: {path}")
        for script, code in self.script_languages.items():
            if not script_compatible(code, script):
                raise ValueError(f"script_languages maps {script} to {code}, which is not written in {script}")
        if not 0.0 <= min_topk_score <= 1.0:
            raise ValueError(f"min_topk_score must be in [0, 1], got {min_topk_score}")
        if not 0.0 < switch_prob < 1.0:
            raise ValueError(f"switch_prob must be in (0, 1), got {switch_prob}")
        if not 0.0 < oov_prob < 1.0:
            raise ValueError(f"oov_prob must be in (0, 1), got {oov_prob}")
        self.lexicon_paths = lexicon_paths
        self.builtin_lexicons = builtin_lexicons
        self.min_topk_score = min_topk_score
        self.switch_prob = switch_prob
        self.oov_prob = oov_prob
        self._lexicons: dict[str, dict[str, float]] | None = None
        self._no_lexicon: set[str] = set()

    def setup(self) -> None:
        if self._lexicons is None:
            self._lexicons = {code: load_lexicon(path) for code, path in self.lexicon_paths.items()}

    def __getstate__(self):
        return {**self.__dict__, "_lexicons": None, "_no_lexicon": set()}  # loaded again on the worker

    def output_fields(self, kind: str) -> list[pa.Field]:
        return [TOKENS_FIELD]

    def describe(self) -> dict:
        return {
            **super().describe(),
            "languages": self.languages,
            "script_languages": self.script_languages,
            "lexicons": {code: Path(path).name for code, path in self.lexicon_paths.items()},
            "builtin_lexicons": lexicon_versions() if self.builtin_lexicons else False,
            "min_topk_score": self.min_topk_score,
            "switch_prob": self.switch_prob,
            "oov_prob": self.oov_prob,
        }

    def _row_languages(self, declared: list[str | None], topk: list[dict] | None) -> list[str]:
        """The stage's languages, else the row's own: ``declared`` (``lang``, or a codeswitch
        record's ``matrix_lang`` then ``embedded_langs``) and the confident top-k entries."""
        if self.languages is not None:
            return self.languages
        found: list[str] = []
        for code in declared + [entry["lang"] for entry in topk or [] if entry["score"] >= self.min_topk_score]:
            if code and code not in found and not code.startswith("und"):
                found.append(code)
        for code in list(found):
            partner = ROMANIZED.get(code)
            if partner is not None and partner not in found:
                found.append(partner)
        return found

    def tag(self, text: str, languages: list[str]) -> list[tuple[str, str]]:
        """(token, tag) pairs for one text whose candidate languages are ``languages``."""
        if self._lexicons is None:
            self.setup()
        tokens = tokenize(text)
        tags: list[str] = [OTHER] * len(tokens)
        words: list[int] = []  # token positions taking part in decoding
        options: list[list[str]] = []
        for i, (token, is_word) in enumerate(tokens):
            if not is_word:
                continue
            script = word_script(token)
            fitting = [code for code in languages if script_compatible(code, script)]
            if not fitting and script in self.script_languages:
                fitting = [self.script_languages[script]]
            if not fitting:
                tags[i] = UNDETERMINED
                continue
            words.append(i)
            options.append(fitting)
        for i, code in zip(words, self._decode([tokens[i][0] for i in words], options)):
            tags[i] = code
        return [(token, tag) for (token, _), tag in zip(tokens, tags)]

    def _lexicon(self, code: str) -> None:
        """Make sure ``code`` has its lexicon if it has one (user file first, else built-in)."""
        lexicons = self._lexicons
        assert lexicons is not None
        if code not in lexicons and code not in self._no_lexicon:
            lexicon = builtin_lexicon(code) if self.builtin_lexicons else None
            if lexicon is None:
                self._no_lexicon.add(code)
            else:
                lexicons[code] = lexicon

    def _decode(self, words: list[str], options: list[list[str]]) -> list[str]:
        """Viterbi over the row's words (:func:`corpusforge.lid.romanized.decode`), each word
        restricted to its own options."""
        lexicons = self._lexicons
        assert lexicons is not None  # tag() and process() call setup() first
        states = {code for opts in options for code in opts}
        if len(states) > 1:
            for code in states:
                self._lexicon(code)
        return decode(words, options, lexicons, switch_prob=self.switch_prob, oov_prob=self.oov_prob)

    def process(self, batch: pa.RecordBatch) -> Split:
        if self._lexicons is None:
            self.setup()
        n = batch.num_rows
        names = batch.schema.names
        codeswitch = kind_of(batch) == "codeswitch"
        if codeswitch:  # a codeswitch record names its languages
            embedded = batch.column("embedded_langs").to_pylist()
            declared = [[matrix] + (others or []) for matrix, others in zip(batch.column("matrix_lang").to_pylist(), embedded)]
        elif "lang" in names:
            declared = [[lang] for lang in batch.column("lang").to_pylist()]
        elif self.languages is None and not self._script_languages_given:
            raise ValueError("TokenTagger needs languages=..., script_languages=... or a lang column (run LanguageIdentifier first)")
        else:
            declared = [[]] * n
        topks = batch.column("lang_topk").to_pylist() if "lang_topk" in names else [None] * n
        texts = pc.fill_null(batch.column("text"), "").to_pylist()
        # A codeswitch record's spans say which text is which language: exact, where a guess
        # from the words would take a same-script insertion (Deutschland in English) for English.
        spans = batch.column("spans").to_pylist() if codeswitch and "spans" in names else [None] * n
        rows = [
            [
                {"token": token, "tag": tag}
                for token, tag in (
                    tag_pieces(span_pieces(text, row_spans, langs[0] or UNDETERMINED))
                    if row_spans
                    else self.tag(text, self._row_languages(langs, topk))
                )
            ]
            for text, langs, topk, row_spans in zip(texts, declared, topks, spans)
        ]
        return Split.keep_all(with_columns(batch, [TOKENS_FIELD], [pa.array(rows, TOKENS_TYPE)]))
