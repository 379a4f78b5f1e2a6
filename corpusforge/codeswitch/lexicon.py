"""Entity lexicons: entities with labels and aliases per language, from Wikidata JSON dumps,
Babel's CLDR data, or a user's TSV/JSONL file, held in memory as an :class:`EntityLexicon` and
stored as Parquet (:data:`LEXICON_SCHEMA`).

Language codes are canonical (``hin_Deva``), mapped through :func:`corpusforge.languages.canonical`.
When several source codes map to one canonical code (Wikidata ``en`` and ``en-gb``; Babel ``zh``
and ``zh_Hans_CN``) the shortest code wins, so the plain language's label is kept.

Popularity, used to rank entities that share a surface form, is the number of Wikipedia
sitelinks for Wikidata entities and the number of languages with a label for CLDR and user
entities; ties go to the smaller id.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from corpusforge.io.base import Line, read_lines
from corpusforge.io.compression import Opener, open_binary, open_input, strip_compression
from corpusforge.languages import LanguageCodeError, canonical
from corpusforge.records import Rejections, Split, stable_id
from corpusforge.schemas import load_schema, schema_id

LEXICON_SCHEMA_ID = schema_id("lexicon")
LEXICON_KIND = "lexicon"  # the `kind` of rejected rows from lexicon inputs
MIB = 1 << 20

LEXICON_SCHEMA = load_schema("lexicon")  # schemas/lexicon.v1.json


@dataclass(frozen=True)
class Entity:
    """One entity: ``labels`` (one per language), ``aliases`` (other names per language),
    optional ``kind``, English Wikipedia title and popularity (default: labelled languages)."""

    id: str
    labels: dict[str, str]
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    kind: str | None = None
    enwiki: str | None = None
    popularity: int | None = None

    @property
    def rank(self) -> int:
        return self.popularity if self.popularity is not None else len(self.labels)

    def names(self, lang: str) -> list[str]:
        """Label then aliases in ``lang`` (no duplicates)."""
        label = self.labels.get(lang)
        out = [label] if label else []
        out += [a for a in self.aliases.get(lang, ()) if a and a != label]
        return out


def normalize_title(title: str) -> str:
    """A Wikipedia page title as MediaWiki stores it: underscores as spaces, no ``#section``,
    surrounding spaces trimmed, first letter upper case (``india_gate#x`` -> ``India gate``)."""
    title = title.split("#", 1)[0].replace("_", " ").strip()
    title = " ".join(title.split())
    return title[:1].upper() + title[1:]


class EntityLexicon:
    """Entities by id, with an index of English Wikipedia titles. Entities repeating an id are
    merged: the first one's labels win, aliases add up."""

    def __init__(self, entities: Iterable[Entity] = (), *, name: str = "lexicon"):
        self.name = name
        self._entities: dict[str, Entity] = {}
        self._titles: dict[str, str] = {}
        for entity in entities:
            self.add(entity)

    def add(self, entity: Entity) -> None:
        old = self._entities.get(entity.id)
        if old is not None:
            aliases = {
                lang: tuple(dict.fromkeys(old.aliases.get(lang, ()) + entity.aliases.get(lang, ())))
                for lang in {*old.aliases, *entity.aliases}
            }
            entity = Entity(
                id=old.id,
                labels={**entity.labels, **old.labels},
                aliases=aliases,
                kind=old.kind or entity.kind,
                enwiki=old.enwiki or entity.enwiki,
                popularity=old.popularity if old.popularity is not None else entity.popularity,
            )
        self._entities[entity.id] = entity
        if entity.enwiki:
            self._titles.setdefault(normalize_title(entity.enwiki), entity.id)

    def __len__(self) -> int:
        return len(self._entities)

    def __iter__(self) -> Iterator[Entity]:
        return iter(self._entities.values())

    def __contains__(self, entity_id: str) -> bool:
        return entity_id in self._entities

    def get(self, entity_id: str) -> Entity | None:
        return self._entities.get(entity_id)

    def by_title(self, title: str) -> Entity | None:
        """The entity whose English Wikipedia page is ``title`` (normalised as MediaWiki does)."""
        entity_id = self._titles.get(normalize_title(title))
        return None if entity_id is None else self._entities[entity_id]

    def label(self, entity_id: str, lang: str) -> str | None:
        entity = self._entities.get(entity_id)
        return None if entity is None else entity.labels.get(lang)

    def languages(self) -> set[str]:
        return {lang for entity in self for lang in entity.labels}

    def forms(self, languages: Collection[str] | None = None) -> Iterator[tuple[str, str, int]]:
        """``(surface, entity id, rank)`` for every label and alias in ``languages`` (all when None)."""
        for entity in self:
            langs = entity.labels.keys() | entity.aliases.keys() if languages is None else languages
            for lang in langs:
                for name in entity.names(lang):
                    yield name, entity.id, entity.rank

    # --- Parquet ---------------------------------------------------------------------------

    def to_table(self, *, source: str | None = None) -> pa.Table:
        """The lexicon as a :data:`LEXICON_SCHEMA` table, in id order (``source`` defaults to the name)."""
        return entities_table((self._entities[k] for k in sorted(self._entities)), source=source or self.name)

    def write_parquet(self, path: str | os.PathLike, *, source: str | None = None) -> None:
        """One Parquet file (zstd). Large lexicons from dumps are written as shards by the Beam build."""
        pq.write_table(self.to_table(source=source), path, compression="zstd")

    @classmethod
    def from_table(
        cls, table: pa.Table | pa.RecordBatch, *, languages: Collection[str] | None = None, name: str = "lexicon"
    ) -> EntityLexicon:
        """From :data:`LEXICON_SCHEMA` rows, keeping only labels and aliases in ``languages``
        (all when None); popularity is kept as stored, so ranks do not depend on the filter."""
        keep = None if languages is None else set(languages)
        lexicon = cls(name=name)
        columns = {n: table.column(n).to_pylist() for n in ("id", "kind", "labels", "aliases", "enwiki", "popularity")}
        for i, entity_id in enumerate(columns["id"]):
            labels = dict(columns["labels"][i] or [])
            aliases = {lang: tuple(names or ()) for lang, names in (columns["aliases"][i] or [])}
            popularity = columns["popularity"][i]
            if keep is not None:
                popularity = popularity if popularity is not None else len(labels)
                labels = {k: v for k, v in labels.items() if k in keep}
                aliases = {k: v for k, v in aliases.items() if k in keep}
            lexicon.add(Entity(entity_id, labels, aliases, columns["kind"][i], columns["enwiki"][i], popularity))
        return lexicon

    @classmethod
    def read_parquet(cls, path: str | os.PathLike, *, languages: Collection[str] | None = None) -> EntityLexicon:
        """From one Parquet file or a directory of shards (as the Beam build writes them)."""
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"lexicon {path} does not exist")
        table = ds.dataset(path, format="parquet", schema=LEXICON_SCHEMA).to_table()
        return cls.from_table(table, languages=languages, name=os.path.basename(path.rstrip("/")))


def entities_table(entities: Iterable[Entity], *, source: str) -> pa.Table:
    """Entities as :data:`LEXICON_SCHEMA` rows."""
    rows = [
        {
            "id": e.id,
            "source": source,
            "kind": e.kind,
            "labels": sorted(e.labels.items()),
            "aliases": sorted((lang, list(names)) for lang, names in e.aliases.items() if names) or None,
            "enwiki": e.enwiki,
            "popularity": e.rank,
        }
        for e in entities
    ]
    return pa.Table.from_pylist(rows, schema=LEXICON_SCHEMA)


# --- language codes of the sources --------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def canonical_or_none(code: str) -> str | None:
    """Canonical code for a Wikidata or Babel language code; None for codes that name no single
    language or script (Wikidata ``mul``, ``simple``)."""
    try:
        return canonical(code)
    except (LanguageCodeError, LookupError, ValueError):
        return None


def _shortest_first(codes: Iterable[str]) -> list[str]:
    return sorted(codes, key=lambda c: (len(c), c))


# --- CLDR (Babel) --------------------------------------------------------------------------

CLDR_CATEGORIES = ("territory", "language", "script", "currency", "city")
# Keys that name no entity: unknown region/language/script/currency, "no linguistic content",
# "multiple languages", script codes for symbols and notation, the testing currency.
_CLDR_SKIP = {
    "territory": {"ZZ"},
    "language": {"und", "zxx", "mul", "mis"},
    "script": {"Zyyy", "Zinh", "Zzzz", "Zxxx", "Zmth", "Zsym", "Zsye"},
    "currency": {"XXX", "XTS"},
    "city": set(),
}


def _babel_names(locale, category: str) -> dict[str, str]:
    if category == "territory":
        return dict(locale.territories)
    if category == "language":
        return dict(locale.languages)
    if category == "script":
        return dict(locale.scripts)
    if category == "currency":
        return dict(locale.currencies)
    return {tz: names["city"] for tz, names in locale.time_zones.items() if "city" in names}


def cldr_lexicon_id() -> str:
    """Which CLDR names :func:`cldr_lexicon` gives (``cldr-47 (babel 2.19.0)``): its keys and
    labels change between releases, so outputs record it."""
    import babel
    from babel.core import get_cldr_version

    return f"cldr-{get_cldr_version()} (babel {babel.__version__})"


def cldr_lexicon(*, languages: Collection[str] | None = None, categories: Collection[str] = CLDR_CATEGORIES) -> EntityLexicon:
    """Names of territories, languages, scripts, currencies and cities (time-zone exemplar
    cities) from Babel's CLDR data, one entity per CLDR key (``territory:IN``,
    ``language:hi``, ``script:Deva``, ``currency:INR``, ``city:Asia/Kolkata``). Keys are CLDR
    ids, which change between Babel releases (``Asia/Calcutta`` until Babel 2.18).

    ``languages`` (canonical or any code :func:`canonical` reads) limits the locales read; None
    reads all of Babel's locales (~1,000, about 1 s, ~900k names). Each canonical code takes
    its names from the first locale that maps to it, plain locales before regional ones (``hi``
    before ``hi_IN``; ``hi_Latn`` is its own code, ``hin_Latn``). English city names CLDR
    leaves to the time-zone id are taken from it (``Asia/Kolkata`` -> Kolkata only when
    English CLDR gives no exemplar).
    """
    from babel import Locale
    from babel.localedata import locale_identifiers

    unknown = set(categories) - set(CLDR_CATEGORIES)
    if unknown:
        raise ValueError(f"unknown CLDR categories {sorted(unknown)}; known: {', '.join(CLDR_CATEGORIES)}")
    wanted = None if languages is None else {canonical(code) for code in languages}
    locales = sorted(
        (Locale.parse(i) for i in locale_identifiers()), key=lambda loc: (loc.territory is not None, loc.variant is not None, str(loc))
    )
    labels: dict[str, dict[str, str]] = {}
    seen: set[str] = set()
    for locale in locales:
        try:
            code = canonical(locale.language, locale.script)
        except (LanguageCodeError, LookupError, ValueError):
            continue
        if code in seen or (wanted is not None and code not in wanted):
            continue
        seen.add(code)
        for category in categories:
            skip = _CLDR_SKIP[category]
            for key, name in _babel_names(locale, category).items():
                if key not in skip and name:
                    labels.setdefault(f"{category}:{key}", {})[code] = name
    if "city" in categories and (wanted is None or "eng_Latn" in wanted):
        for key, names in labels.items():
            if key.startswith("city:"):
                names.setdefault("eng_Latn", key.rsplit("/", 1)[-1].replace("_", " "))
    return EntityLexicon((Entity(key, names, kind=key.split(":", 1)[0]) for key, names in sorted(labels.items())), name=cldr_lexicon_id())


# --- Wikidata JSON dumps -------------------------------------------------------------------


class LineChunk(NamedTuple):
    """Raw lines of one dump file, cut at about ``chunk_bytes``: what the Beam build reshuffles
    so that parsing spreads over workers while one worker decompresses the file."""

    source: str
    path: str
    file_key: str
    lines: list[Line]


class WikidataDumpReader:
    """Streams a Wikidata JSON dump (``latest-all.json.bz2``/``.gz`` or plain): a JSON array
    written one entity per line (``[``, ``{...},``, ..., ``{...}``, ``]``), into
    :data:`LEXICON_SCHEMA` batches.

    Keeps items (``Q`` ids) with at least one label in ``languages`` (all languages when None),
    their aliases in those languages when ``aliases``, the ``enwiki`` sitelink title, and the
    sitelink count as popularity; ``require_enwiki`` keeps only entities with an English
    Wikipedia page. Lines that are not JSON objects, or are longer than ``max_line_bytes``, become
    rejected rows (kind ``lexicon``, stage ``read``); entities filtered out are counted, not
    rejected. Cost: one ``json.loads`` per entity line; decompression streams.
    """

    def __init__(
        self,
        *,
        languages: list[str] | None = None,
        aliases: bool = True,
        require_enwiki: bool = False,
        items_only: bool = True,
        chunk_bytes: int = 8 * MIB,
        max_line_bytes: int = 64 * MIB,
    ):
        if chunk_bytes <= 0 or max_line_bytes <= 0:
            raise ValueError(f"chunk_bytes and max_line_bytes must be positive, got {chunk_bytes}, {max_line_bytes}")
        try:
            self.languages = None if languages is None else frozenset(canonical(code) for code in languages)
        except LanguageCodeError as exc:
            raise ValueError(f"languages: {exc}") from exc
        self.aliases = aliases
        self.require_enwiki = require_enwiki
        self.items_only = items_only
        self.chunk_bytes = chunk_bytes
        self.max_line_bytes = max_line_bytes

    def chunks(
        self, path: str, *, source: str = "wikidata", file_key: str | None = None, opener: Opener = open_binary
    ) -> Iterator[LineChunk]:
        """The file's lines in chunks of about ``chunk_bytes`` (decompressed by extension)."""
        key = file_key or os.path.basename(path)
        lines: list[Line] = []
        pending = 0
        with open_input(path, opener) as stream:
            for line in read_lines(stream, self.max_line_bytes):
                lines.append(line)
                pending += line.size
                if pending >= self.chunk_bytes:
                    yield LineChunk(source, path, key, lines)
                    lines, pending = [], 0
        if lines:
            yield LineChunk(source, path, key, lines)

    def parse(self, chunk: LineChunk) -> tuple[Split, int]:
        """Lexicon rows and rejected rows of one chunk, and how many entities were filtered out."""
        rejections = Rejections(stage="read", kind=LEXICON_KIND)
        entities: list[Entity] = []
        filtered = 0
        for line in chunk.lines:
            problem = (line.reason, line.detail) if line.reason else None
            if problem is None:
                assert line.text is not None  # read_lines gives text whenever it gives no reason
                text = line.text.strip().rstrip(",")
                if text in ("", "[", "]"):
                    continue
                try:
                    obj = json.loads(text)
                    entity = self.entity(obj)
                except (ValueError, RecursionError) as exc:
                    problem = ("invalid_json", f"malformed JSON: {exc}")
                except (AttributeError, KeyError, TypeError) as exc:
                    problem = ("bad_entity", f"not a Wikidata entity: {type(exc).__name__}: {exc}")
                else:
                    if entity is None:
                        filtered += 1
                    else:
                        entities.append(entity)
            if problem is not None:
                rejections.add(
                    id=stable_id(chunk.source, chunk.file_key, line.number),
                    source=chunk.source,
                    reason=problem[0],
                    detail=problem[1],
                    file=chunk.path,
                    offset=line.number,
                    raw=line.raw,
                )
        kept = entities_table(entities, source=chunk.source).combine_chunks().to_batches()
        batch = kept[0] if kept else pa.RecordBatch.from_pylist([], schema=LEXICON_SCHEMA)
        return Split(batch, rejections.to_batch()), filtered

    def read(
        self, path: str, *, source: str = "wikidata", file_key: str | None = None, opener: Opener = open_binary
    ) -> Iterator[tuple[Split, int]]:
        """:meth:`parse` of every chunk of the file, in order."""
        for chunk in self.chunks(path, source=source, file_key=file_key, opener=opener):
            yield self.parse(chunk)

    def lexicon(self, path: str, *, source: str = "wikidata") -> EntityLexicon:
        """The whole dump as an in-memory lexicon (small dumps; rejected lines are dropped here,
        use :meth:`read` or the Beam build to keep them)."""
        tables = [split.kept for split, _ in self.read(path, source=source)]
        return EntityLexicon.from_table(pa.Table.from_batches(tables, schema=LEXICON_SCHEMA), name=source)

    def entity(self, obj: dict) -> Entity | None:
        """One dump entity as an :class:`Entity`, or None when the filters drop it."""
        if not isinstance(obj, dict):
            raise TypeError(f"a JSON {type(obj).__name__}, not an object")
        entity_id = obj["id"]
        if self.items_only and obj.get("type", "item") != "item":
            return None
        sitelinks = obj.get("sitelinks") or {}
        enwiki = (sitelinks.get("enwiki") or {}).get("title")
        if self.require_enwiki and not enwiki:
            return None
        labels: dict[str, str] = {}
        for code in _shortest_first((obj.get("labels") or {}).keys()):
            lang = canonical_or_none(code)
            if lang is not None and (self.languages is None or lang in self.languages):
                labels.setdefault(lang, obj["labels"][code]["value"])
        if not labels:
            return None
        aliases: dict[str, list[str]] = {}
        if self.aliases:
            for code in _shortest_first((obj.get("aliases") or {}).keys()):
                lang = canonical_or_none(code)
                if lang is not None and lang in labels:
                    names = aliases.setdefault(lang, [])
                    names += [a["value"] for a in obj["aliases"][code] if a["value"] not in names and a["value"] != labels[lang]]
        return Entity(entity_id, labels, {k: tuple(v) for k, v in aliases.items() if v}, obj.get("type"), enwiki, len(sitelinks))


# --- user lexicons -------------------------------------------------------------------------

USER_TSV_COLUMNS = ("id", "lang", "label", "aliases", "enwiki", "kind")


def read_user_lexicon(path: str, *, name: str | None = None, opener: Opener = open_binary) -> EntityLexicon:
    """A lexicon from a user's file, chosen by extension (compressed files too):

    - ``.tsv``: a header naming at least ``id``, ``lang``, ``label`` (also ``aliases``,
      ``|``-separated, ``enwiki``, ``kind``); one row per entity and language.
    - ``.jsonl``: one entity per line, ``{"id": ..., "labels": {lang: label}, "aliases":
      {lang: [names]}, "enwiki": ..., "kind": ...}``.

    Language codes may be anything :func:`canonical` reads. A malformed line raises ValueError
    naming ``path:line`` (a lexicon is configuration: it fails before the run).
    """
    plain, _ = strip_compression(path)
    name = name or os.path.basename(plain).rsplit(".", 1)[0]
    if plain.endswith(".tsv"):
        entities = _tsv_entities(path, opener)
    elif plain.endswith(".jsonl"):
        entities = _jsonl_entities(path, opener)
    else:
        raise ValueError(f"lexicon {path}: expected a .tsv or .jsonl file (optionally compressed)")
    return EntityLexicon(entities, name=name)


def _user_lines(path: str, opener: Opener) -> Iterator[tuple[int, str]]:
    with open_input(path, opener) as stream:
        for line in read_lines(stream, 16 * MIB):
            if line.reason:
                raise ValueError(f"{path}:{line.number}: {line.detail}")
            assert line.text is not None  # read_lines gives text whenever it gives no reason
            if line.text.strip():
                yield line.number, line.text


def _language(code: object, where: str) -> str:
    if not isinstance(code, str):
        raise ValueError(f"{where}: language {code!r} is not a string")
    try:
        return canonical(code)
    except (LanguageCodeError, LookupError) as exc:
        raise ValueError(f"{where}: {exc}") from exc


def _tsv_entities(path: str, opener: Opener) -> Iterator[Entity]:
    lines = _user_lines(path, opener)
    header_at, header = next(lines, (0, ""))
    columns = header.split("\t")
    missing = [c for c in ("id", "lang", "label") if c not in columns]
    if missing:
        raise ValueError(f"{path}:{header_at or 1}: the header must name columns id, lang, label; missing {missing}")
    unknown = [c for c in columns if c not in USER_TSV_COLUMNS]
    if unknown:
        raise ValueError(f"{path}:{header_at}: unknown columns {unknown}; known: {', '.join(USER_TSV_COLUMNS)}")
    for number, text in lines:
        values = text.split("\t")
        if len(values) != len(columns):
            raise ValueError(f"{path}:{number}: {len(values)} fields, the header has {len(columns)}")
        row = dict(zip(columns, values))
        lang = _language(row["lang"], f"{path}:{number}")
        if not row["id"] or not row["label"]:
            raise ValueError(f"{path}:{number}: id and label must not be empty")
        aliases = tuple(a for a in row.get("aliases", "").split("|") if a)
        yield Entity(
            row["id"], {lang: row["label"]}, {lang: aliases} if aliases else {}, row.get("kind") or None, row.get("enwiki") or None
        )


def _jsonl_entities(path: str, opener: Opener) -> Iterator[Entity]:
    for number, text in _user_lines(path, opener):
        where = f"{path}:{number}"
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"{where}: malformed JSON: {exc}") from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not isinstance(obj.get("labels"), dict):
            raise ValueError(f"{where}: expected an object with a string 'id' and a 'labels' object")
        labels = {_language(code, where): label for code, label in obj["labels"].items()}
        aliases = {_language(code, where): tuple(names) for code, names in (obj.get("aliases") or {}).items()}
        if not all(isinstance(v, str) and v for v in labels.values()) or not all(
            isinstance(a, str) for names in aliases.values() for a in names
        ):
            raise ValueError(f"{where}: labels and aliases must be non-empty strings")
        yield Entity(obj["id"], labels, aliases, obj.get("kind"), obj.get("enwiki"), obj.get("popularity"))
