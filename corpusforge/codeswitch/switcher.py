"""Entity-level code-switching (EntityCS, Whitehouse et al. 2022): mentions of entities are
replaced by the entity's label in another language; the rest of the sentence keeps every byte.

All offsets are code points (Python ``str`` indices), never bytes: a :class:`Span` ``(start,
end)`` is ``switched.text[start:end]``, the inserted text, without markers.

Determinism: every choice (which mentions, which target language) is drawn from
:class:`~corpusforge.hashing.StableDraws`, a hash of (seed, record id, variant, what is drawn), never from Python's
``hash`` or ``random`` state: same input and seed, same output on any machine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

import pyarrow as pa

from corpusforge.codeswitch.lexicon import Entity, EntityLexicon
from corpusforge.codeswitch.mentions import CasePolicy, Gazetteer, Mention, check_options, parse_wikilinks
from corpusforge.codeswitch.metrics import code_mixing_metrics
from corpusforge.codeswitch.tokens import tag_pieces
from corpusforge.hashing import StableDraws
from corpusforge.languages import LanguageCodeError, canonical, language_of, script_of
from corpusforge.records import stable_id
from corpusforge.schemas import as_entries, conform, load_schema

if TYPE_CHECKING:
    from corpusforge.translit import Transliterator

ENTITY = "entity"
DICTIONARY = "dictionary"
TRANSLITERATION = "transliteration"

METRICS = ("cmi", "switch_points", "m_index", "i_index", "burstiness", "switch_fraction")  # of Switched and the record

TargetMode = Literal["fixed", "sentence", "entity"]
Policy = Literal["all", "fraction", "at_most"]
Missing = Literal["skip", "transliterate"]
MentionSource = Literal["gazetteer", "wikilinks", "given"]


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """Replace ``source[start:end]`` (code points) by ``replacement``, written in ``lang``."""

    start: int
    end: int
    replacement: str
    lang: str
    key: str | None
    method: str


@dataclass(frozen=True)
class Span:
    """One switched span, as the ``codeswitch`` schema stores it: ``text[start:end]`` (code
    points of the switched text) is the inserted text, ``original`` what it replaced."""

    start: int
    end: int
    lang: str
    entity_id: str | None
    original: str
    method: str


@dataclass(frozen=True)
class Switched:
    """A switched text with its spans and the code-mixing metrics of the result
    (:func:`corpusforge.codeswitch.metrics.code_mixing_metrics`; ``burstiness`` is None with
    fewer than two language spans)."""

    text: str
    source_text: str
    matrix_lang: str
    spans: tuple[Span, ...]
    cmi: float
    switch_points: int
    m_index: float
    i_index: float
    burstiness: float | None
    switch_fraction: float

    @property
    def embedded_langs(self) -> list[str]:
        return sorted({span.lang for span in self.spans})


def apply_edits(source: str, edits: Sequence[Edit], *, matrix_lang: str, markers: bool = False) -> Switched:
    """Apply non-overlapping ``edits`` to ``source``; text outside them is copied unchanged.
    With ``markers`` each insertion is wrapped as ``<lang>…</lang>`` (spans exclude the markers).

    Metrics: tokens of copied text are tagged ``matrix_lang``, tokens of inserted text their
    edit's language, non-words ``other`` (:func:`corpusforge.codeswitch.tokens.tokenize`), then
    the metrics :func:`corpusforge.codeswitch.metrics.code_mixing_metrics` defines (CMI, M- and
    I-index, burstiness, switch points and their fraction).
    """
    edits = sorted(edits, key=lambda e: e.start)
    out: list[str] = []
    spans: list[Span] = []
    pieces: list[tuple[str, str]] = []
    at = 0  # position in the output, code points
    position = 0  # position in the source
    for edit in edits:
        if edit.start < position or edit.end <= edit.start:
            raise ValueError(f"edits overlap or are empty at ({edit.start}, {edit.end})")
        kept = source[position : edit.start]
        out.append(kept)
        pieces.append((kept, matrix_lang))
        at += len(kept)
        if markers:
            out.append(f"<{edit.lang}>")
            at += len(edit.lang) + 2
        spans.append(Span(at, at + len(edit.replacement), edit.lang, edit.key, source[edit.start : edit.end], edit.method))
        out.append(edit.replacement)
        pieces.append((edit.replacement, edit.lang))
        at += len(edit.replacement)
        if markers:
            out.append(f"</{edit.lang}>")
            at += len(edit.lang) + 3
        position = edit.end
    out.append(source[position:])
    pieces.append((source[position:], matrix_lang))
    metrics = code_mixing_metrics([tag for _, tag in tag_pieces(pieces)])
    return Switched("".join(out), source, matrix_lang, tuple(spans), **{name: metrics[name] for name in METRICS})


def selected_count(policy: str, n: int, *, fraction: float, k: int) -> int:
    """How many of ``n`` candidates a policy switches: all; ``round(fraction * n)`` (halves up);
    at most ``k``."""
    if policy == "all":
        return n
    if policy == "fraction":
        return min(n, math.floor(fraction * n + 0.5))
    return min(n, k)


def check_policy(policy: str, fraction: float, k: int) -> None:
    if policy not in ("all", "fraction", "at_most"):
        raise ValueError(f"policy must be all, fraction or at_most, got {policy!r}")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def language_option(code: str, what: str) -> str:
    """A constructor's language argument, canonicalised; a bad code raises ValueError naming ``what``."""
    try:
        return canonical(code)
    except (LanguageCodeError, LookupError) as exc:
        raise ValueError(f"{what}: cannot read language {code!r}: {exc}") from exc


# --- entity switching ----------------------------------------------------------------------------


class EntitySwitcher:
    """Replaces entity mentions by their labels in a target language.

    - Mentions: found by the lexicon's gazetteer in ``source_lang`` (labels and aliases; ``case``
      and ``min_length`` as :class:`~corpusforge.codeswitch.mentions.Gazetteer` takes them), or
      given to :meth:`switch`, or read from wikitext links (:meth:`switch_wikitext`).
    - Which mentions (``policy``): ``all``; ``fraction`` (``round(fraction * n)`` of them); at most
      ``k`` (``at_most``).
    - Target (``target_mode``): ``fixed`` (``targets[0]``, or :meth:`switch`'s ``target``);
      ``sentence``: one language per sentence, drawn from the ``targets`` in which every selected
      entity has a label (EntityCS's rule); ``entity``: drawn per entity from the ``targets`` in
      which it has a label.
    - Missing label (``missing``): ``skip`` the entity, or ``transliterate`` a label it has into
      the target's script where :mod:`corpusforge.translit` supports the pair (a
      Brahmic-script label into another Brahmic script; for a ``Latn`` target, the same
      language's Brahmic label romanised informally: ``hin_Deva`` -> ``hin_Latn``). Such spans
      have method ``transliteration``. A label equal to the mention's text is no switch and is
      left out.
    - ``markers``: wrap insertions as ``<hin_Deva>…</hin_Deva>``.

    The gazetteer is built on first use (~1-2 µs per surface form in ``source_lang``).
    """

    def __init__(
        self,
        *,
        lexicon: EntityLexicon,
        source_lang: str = "eng_Latn",
        targets: list[str] | None = None,
        target_mode: TargetMode = "fixed",
        policy: Policy = "all",
        fraction: float = 0.5,
        k: int = 1,
        missing: Missing = "skip",
        markers: bool = False,
        case: CasePolicy = "sensitive",
        min_length: int = 2,
        seed: int = 0,
    ):
        check_policy(policy, fraction, k)
        check_options(case, min_length)
        if target_mode not in ("fixed", "sentence", "entity"):
            raise ValueError(f"target_mode must be fixed, sentence or entity, got {target_mode!r}")
        if missing not in ("skip", "transliterate"):
            raise ValueError(f"missing must be skip or transliterate, got {missing!r}")
        self.targets = [language_option(t, "targets") for t in targets or []]
        if target_mode == "fixed" and len(self.targets) > 1:
            raise ValueError(f"target_mode fixed takes one target, got {self.targets}; use sentence or entity to draw among several")
        if target_mode != "fixed" and not self.targets:
            raise ValueError(f"target_mode {target_mode} draws from targets: name at least one")
        self.lexicon = lexicon
        self.source_lang = language_option(source_lang, "source_lang")
        self.target_mode, self.policy, self.fraction, self.k = target_mode, policy, fraction, k
        self.missing, self.markers, self.case, self.min_length, self.seed = missing, markers, case, min_length, seed
        self._gazetteer: Gazetteer | None = None
        self._transliterators: dict[tuple[str, str], Transliterator] = {}
        self._replacements: dict[tuple[str, str], tuple[str, str] | None] = {}

    @property
    def gazetteer(self) -> Gazetteer:
        if self._gazetteer is None:
            self._gazetteer = Gazetteer.from_lexicon(self.lexicon, languages=[self.source_lang], case=self.case, min_length=self.min_length)
        return self._gazetteer

    def describe(self) -> dict:
        return {
            "lexicon": self.lexicon.name,
            "source_lang": self.source_lang,
            "targets": self.targets,
            "target_mode": self.target_mode,
            "policy": self.policy,
            "fraction": self.fraction,
            "k": self.k,
            "missing": self.missing,
            "markers": self.markers,
            "case": self.case,
            "seed": self.seed,
        }

    def mentions(self, text: str) -> list[Mention]:
        """Gazetteer mentions of lexicon entities in ``text`` (code points)."""
        return self.gazetteer.find(text)

    def switch(
        self, text: str, *, target: str | None = None, mentions: list[Mention] | None = None, record_id: str = "", variant: int = 0
    ) -> Switched:
        """``text`` with selected mentions switched (``mentions`` default: the gazetteer's).
        ``target`` fixes the language for this call. ``record_id`` and ``variant`` seed the
        draws. Spans are in code points of the switched text; text outside them is unchanged."""
        if mentions is None:
            mentions = self.mentions(text)
        draws = StableDraws(self.seed, record_id, variant)
        chosen = [
            mentions[i]
            for i in draws.sample(len(mentions), selected_count(self.policy, len(mentions), fraction=self.fraction, k=self.k), "mention")
        ]
        targets = self._targets(chosen, draws, None if target is None else language_option(target, "target"))
        edits = []
        for mention, lang in zip(chosen, targets):
            if lang is None:
                continue
            found = self.replacement(mention.key, lang)
            if found is not None and found[0] != mention.surface:
                edits.append(Edit(mention.start, mention.end, found[0], lang, mention.key, found[1]))
        return apply_edits(text, edits, matrix_lang=self.source_lang, markers=self.markers)

    def switch_wikitext(self, wikitext: str, *, target: str | None = None, record_id: str = "", variant: int = 0) -> Switched:
        """:meth:`switch` on the text of ``wikitext`` (links replaced by their anchors), with the
        linked entities as mentions (titles looked up by English Wikipedia title). The result's
        ``source_text`` is that plain text."""
        text, mentions = self.wikitext_mentions(wikitext)
        return self.switch(text, target=target, mentions=mentions, record_id=record_id, variant=variant)

    def wikitext_mentions(self, wikitext: str) -> tuple[str, list[Mention]]:
        return parse_wikilinks(wikitext, lambda title: getattr(self.lexicon.by_title(title), "id", None))

    def _targets(self, chosen: list[Mention], draws: StableDraws, target: str | None) -> list[str | None]:
        if target is not None or self.target_mode == "fixed":
            fixed = target or (self.targets[0] if self.targets else None)
            if fixed is None:
                raise ValueError("no target language: pass target= or construct the switcher with targets=[...]")
            return [fixed] * len(chosen)
        if self.target_mode == "sentence":
            common = [t for t in self.targets if all(self.replacement(m.key, t) is not None for m in chosen)]
            return [draws.choice(common, "target") if common else None] * len(chosen)
        out = []
        for m in chosen:
            available = [t for t in self.targets if self.replacement(m.key, t) is not None]
            out.append(draws.choice(available, "target", m.start) if available else None)
        return out

    def replacement(self, entity_id: str, target: str) -> tuple[str, str] | None:
        """(text, method) that replaces a mention of ``entity_id`` in ``target``, or None."""
        cache_key = (entity_id, target)
        if cache_key not in self._replacements:
            entity = self.lexicon.get(entity_id)
            found = None
            if entity is not None:
                label = entity.labels.get(target)
                if label:
                    found = (label, ENTITY)
                elif self.missing == "transliterate":
                    converted = self._transliterate(entity, target)
                    found = (converted, TRANSLITERATION) if converted else None
            if len(self._replacements) > 1_000_000:
                self._replacements.clear()
            self._replacements[cache_key] = found
        return self._replacements[cache_key]

    def _transliterate(self, entity: Entity, target: str) -> str | None:
        from corpusforge.translit import BRAHMIC, INFORMAL, Transliterator

        script, lang = script_of(target), language_of(target)
        if script == "Latn":
            candidates = [c for c in entity.labels if language_of(c) == lang and script_of(c) in BRAHMIC]
            scheme = INFORMAL
        elif script in BRAHMIC:
            candidates = sorted(
                (c for c in entity.labels if script_of(c) in BRAHMIC and script_of(c) != script), key=lambda c: (language_of(c) != lang, c)
            )
            scheme = script
        else:
            return None
        for code in candidates:
            engine = self._transliterators.get((code, scheme))
            if engine is None:
                engine = self._transliterators[(code, scheme)] = Transliterator(source=code, target=scheme)
            converted = engine.text(entity.labels[code])
            if converted:
                return converted
        return None


# --- records ---------------------------------------------------------------------------


def codeswitch_record(
    switched: Switched, *, source: str, source_id: str, method: str, variant: int, meta: dict[str, str] | None = None
) -> dict:
    """A ``codeswitch`` row (current schema version); its id is ``stable_id(source_id, method,
    variant)``; ``meta`` is stored as entries sorted by key."""
    return {
        "id": stable_id(source_id, method, variant),
        "source": source,
        "source_id": source_id,
        "text": switched.text,
        "source_text": switched.source_text,
        "matrix_lang": switched.matrix_lang,
        "embedded_langs": switched.embedded_langs,
        "spans": [asdict(span) for span in switched.spans],
        **{name: getattr(switched, name) for name in METRICS},
        "meta": as_entries(dict(sorted((meta or {}).items()))),
    }


def codeswitch_batch(rows: list[dict]) -> pa.RecordBatch:
    """Rows as one ``codeswitch`` batch (conformed: a row that does not fit raises SchemaError)."""
    schema = load_schema("codeswitch")
    table = conform(pa.Table.from_pylist(rows, schema=schema), schema).combine_chunks()
    batches = table.to_batches()
    return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=schema)
