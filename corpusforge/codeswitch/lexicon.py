"""Entity lexicons: entities with labels and aliases per language, from Babel's CLDR data, or
read from Wikidata JSON dumps and a user's TSV/JSONL file (:mod:`corpusforge.io.lexicons`), held
in memory as an :class:`EntityLexicon` and stored as Parquet (:data:`LEXICON_SCHEMA`).

Language codes are canonical (``hin_Deva``), mapped through :func:`corpusforge.languages.canonical`.
When several source codes map to one canonical code (Wikidata ``en`` and ``en-gb``; Babel ``zh``
and ``zh_Hans_CN``) the shortest code wins, so the plain language's label is kept.

Popularity, used to rank entities that share a surface form, is the number of Wikipedia
sitelinks for Wikidata entities and the number of languages with a label for CLDR and user
entities; ties go to the smaller id.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from corpusforge.languages import LanguageCodeError, canonical
from corpusforge.schemas import load_schema, schema_id

LEXICON_SCHEMA_ID = schema_id("lexicon")

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
