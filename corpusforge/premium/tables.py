"""Byte premiums (Arnett et al. 2024, "A Bit of a Problem"): how many UTF-8 bytes a language
needs for the same content as the reference language (English = 1.0 by default).

Three places a premium can come from, in order of precedence: the user's parallel corpus
(:func:`byte_premiums_from_parallel`), the user's table (:meth:`PremiumTable.load`, the paper's
TSV format) and the estimate the package embeds (``corpusforge/data/premiums_cldr.tsv``, computed
from Babel's CLDR names by ``benchmarks/build_cldr_premiums.py``). Every :class:`Premium` says
which one it came from. A language none of them knows gets the median premium of its script
(else of the whole table), flagged as imputed: never a silent 1.0.
"""

from __future__ import annotations

import csv
import functools
import statistics
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.hashing import derived_seed
from corpusforge.languages import LanguageCodeError, canonical, code_or_none, is_canonical

REFERENCE = "eng_Latn"
MIN_UNITS = 100
EMBEDDED_TABLE = "premiums_cldr.tsv"

# Where a premium came from; the stage writes these into ``premium_source``.
SOURCE_REFERENCE = "reference"
SOURCE_PARALLEL = "parallel"
SOURCE_TABLE = "table"
SOURCE_ESTIMATE = "cldr_estimate"
SOURCE_SCRIPT_MEDIAN = "script_median"
SOURCE_MEDIAN = "median"
IMPUTED_SOURCES = frozenset({SOURCE_SCRIPT_MEDIAN, SOURCE_MEDIAN})


class FewUnitsWarning(UserWarning):
    """A premium was computed from fewer content units than the paper recommends (100)."""


@dataclass(frozen=True)
class Premium:
    """One language's byte premium relative to ``reference``, with where it came from.

    ``units`` and the bootstrap interval (``ci_low``, ``ci_high``) are known for premiums
    measured here; ``origin`` names the file or data set behind the figure."""

    lang: str
    value: float
    source: str
    units: int | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    origin: str | None = None

    @property
    def imputed(self) -> bool:
        """True when the language was unknown and the value is a median of other languages."""
        return self.source in IMPUTED_SOURCES

    def to_dict(self) -> dict:
        """Everything but the language, for a manifest keyed by language."""
        return {k: v for k, v in asdict(self).items() if k != "lang"}


def table_code(code: str) -> str:
    """A table's or a record's language code as a canonical key: ``hin_deva`` -> ``hin_Deva``.

    Codes already shaped ``xxx_Scrp`` keep their language subtag as written (a table's
    ``arb_arab`` stays ``arb_Arab``); anything else goes through :func:`canonical`."""
    raw = code.strip()
    head, _, tail = raw.partition("_")
    if len(head) == 3 and len(tail) == 4 and head.isalpha() and tail.isalpha():
        fixed = f"{head.lower()}_{tail.title()}"
        if is_canonical(fixed):
            return fixed
    try:
        return canonical(raw)
    except LookupError as exc:  # langcodes' own error for names with no ISO 639-3 code
        raise LanguageCodeError(f"{code!r} is not a language code: {exc}") from exc


class PremiumTable:
    """Premiums by canonical language code, all relative to one ``reference`` language.

    Lookups never fail: :meth:`premium` falls back to the script's median, then the table's
    median, and says so in :attr:`Premium.source`."""

    def __init__(self, premiums: Mapping[str, Premium], *, reference: str = REFERENCE):
        self.reference = table_code(reference)
        self._premiums = dict(premiums)
        measured = [p for p in self._premiums.values() if not p.imputed]
        by_script: dict[str, list[float]] = {}
        for p in measured:
            by_script.setdefault(p.lang.split("_", 1)[1], []).append(p.value)
        self._script_medians = {script: statistics.median(values) for script, values in by_script.items()}
        self._median = statistics.median([p.value for p in measured]) if measured else None

    # -- construction -------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, *, source: str = SOURCE_TABLE, reference: str = REFERENCE) -> PremiumTable:
        """Read a premium TSV as the paper's tool distributes it: a header with ``lang``
        (``hin_deva``) and ``byte_coef`` columns, other columns ignored; rows with an empty
        ``byte_coef`` have no figure and are skipped; ``#`` lines are comments. Optional
        ``units``, ``ci_low``, ``ci_high`` columns are read when present."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"premium table {path} does not exist")
        with path.open(encoding="utf-8", newline="") as handle:
            lines = (line for line in handle if not line.startswith("#"))
            reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
            missing = {"lang", "byte_coef"} - set(reader.fieldnames or ())
            if missing:
                raise ValueError(f"premium table {path} lacks column(s) {sorted(missing)}; it has {reader.fieldnames}")
            premiums: dict[str, Premium] = {}
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if not (row.get("byte_coef") or "").strip():
                    continue
                try:
                    lang = table_code(row["lang"])
                    value = float(row["byte_coef"])
                    extra = {k: _optional(row.get(k), float) for k in ("ci_low", "ci_high")}
                    units = _optional(row.get("units"), int)
                except (ValueError, LanguageCodeError) as exc:
                    raise ValueError(f"{where}: {exc}") from exc
                if not value > 0:
                    raise ValueError(f"{where}: byte_coef must be positive, got {value}")
                if lang in premiums:
                    raise ValueError(f"{where}: {row['lang']!r} repeats language {lang}")
                premiums[lang] = Premium(lang, value, source, units=units, origin=str(path), **extra)
        return cls(premiums, reference=reference)

    @classmethod
    def embedded(cls) -> PremiumTable:
        """The estimate shipped with the package (CLDR names vs English; see the file's header)."""
        return _embedded_table()

    @classmethod
    def layered(cls, tables: Sequence[PremiumTable]) -> PremiumTable:
        """One table from several: for each language the first table that has it wins."""
        if not tables:
            raise ValueError("layered() needs at least one table")
        references = {t.reference for t in tables}
        if len(references) > 1:
            raise ValueError(f"cannot layer premium tables with different references: {sorted(references)}")
        merged: dict[str, Premium] = {}
        for table in reversed(tables):
            merged.update(table._premiums)
        return cls(merged, reference=tables[0].reference)

    @classmethod
    def build(
        cls,
        *,
        parallel: str | Path | None = None,
        table: str | Path | None = None,
        embedded: bool = True,
        reference: str = REFERENCE,
        seed: int = 0,
    ) -> PremiumTable:
        """The precedence the package applies: user's parallel corpus > user's table > embedded estimate."""
        layers = []
        if parallel is not None:
            layers.append(byte_premiums_from_parallel(parallel, reference=reference, seed=seed))
        if table is not None:
            layers.append(cls.load(table, reference=reference))
        if embedded:
            layers.append(cls.embedded())
        if not layers:
            raise ValueError("no premium source: give a parallel corpus or a table, or allow the embedded estimate")
        return cls.layered(layers)

    # -- lookups ------------------------------------------------------------------------
    def premium(self, lang: str | None) -> Premium:
        """The premium of ``lang`` (any code :func:`canonical` reads; the reference is 1.0).
        Unknown languages get their script's median (``script_median``), else the table's
        median (``median``), as do unreadable and missing codes."""
        code = None
        if lang:
            try:
                code = table_code(lang)
            except LanguageCodeError:
                code = None
        if code is not None:
            if code == self.reference:  # 1.0 by definition; keep the unit count if measured here
                measured = self._premiums.get(code)
                return measured if measured and measured.source == SOURCE_REFERENCE else Premium(code, 1.0, SOURCE_REFERENCE)
            found = self._premiums.get(code)
            if found is None and (readable := code_or_none(code, table_code)) is not None:
                found = self._premiums.get(readable)
            if found is not None:
                return found
            script = code.split("_", 1)[1]
            if script in self._script_medians:
                return Premium(code, self._script_medians[script], SOURCE_SCRIPT_MEDIAN, origin=f"median of {script}")
        if self._median is None:
            raise ValueError("premium table is empty: no median to impute from")
        return Premium(code or lang or "und", self._median, SOURCE_MEDIAN, origin="median of all languages")

    def __contains__(self, lang: str) -> bool:
        return table_code(lang) in self._premiums

    def __len__(self) -> int:
        return len(self._premiums)

    def languages(self) -> list[str]:
        return sorted(self._premiums)

    def manifest(self, langs: Iterable[str] | None = None) -> dict[str, dict]:
        """What a run manifest records: value and provenance per language (all, or ``langs``)."""
        chosen = self.languages() if langs is None else sorted(set(langs))
        return {lang: self.premium(lang).to_dict() for lang in chosen}


def premium(lang: str, *, table: PremiumTable | None = None) -> Premium:
    """Library shortcut: ``premium("hin_Deva")`` from ``table``, else the embedded estimate."""
    return (table or _embedded_table()).premium(lang)


@functools.lru_cache(maxsize=1)
def _embedded_table() -> PremiumTable:
    with resources.as_file(resources.files("corpusforge.data") / EMBEDDED_TABLE) as path:
        return PremiumTable.load(path, source=SOURCE_ESTIMATE)


# -- computing premiums from parallel text --------------------------------------------------
def byte_premiums_from_parallel(
    path: str | Path,
    *,
    reference: str = REFERENCE,
    languages: Sequence[str] | None = None,
    split: str | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    min_units: int = MIN_UNITS,
) -> PremiumTable:
    """Premiums from multi-parallel text with the paper's method: per language, the total
    UTF-8 bytes over the units it shares with ``reference`` (both cells non-empty) divided by
    the reference's bytes over the same units.

    ``path`` is a TSV with one column per language (a header of language codes, e.g. Django
    locales ``hi``, ``zh_Hans``; columns that read as no language, like ``unit``, are ignored)
    or a FLORES-200-style directory of line-aligned files ``<lang>.<split>``. Bootstrap over
    units gives the interval; a language with fewer than ``min_units`` shared units warns
    (:class:`FewUnitsWarning`), one with none is left out."""
    columns = read_parallel_columns(path, split)
    if languages is not None:
        wanted = {table_code(code) for code in languages} | {table_code(reference)}
        columns = {lang: texts for lang, texts in columns.items() if lang in wanted}
    return byte_premiums_from_columns(
        columns,
        reference=reference,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        seed=seed,
        min_units=min_units,
        origin=str(path),
    )


def byte_premiums_from_columns(
    columns: Mapping[str, Sequence[str | None]],
    *,
    reference: str = REFERENCE,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    min_units: int = MIN_UNITS,
    source: str = SOURCE_PARALLEL,
    origin: str | None = None,
) -> PremiumTable:
    """The computation behind :func:`byte_premiums_from_parallel`, on aligned text columns keyed
    by canonical code (``None`` or ``""`` = missing unit). The bootstrap draws for a language
    come from a generator seeded by a stable hash of (seed, language): a language's interval
    does not depend on which other languages are present."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    reference = table_code(reference)
    if reference not in columns:
        raise ValueError(f"reference language {reference} is not among the parallel columns {sorted(columns)}")
    ref_bytes = byte_lengths(columns[reference])
    n = len(ref_bytes)
    premiums = {reference: Premium(reference, 1.0, SOURCE_REFERENCE, units=int((ref_bytes > 0).sum()), origin=origin)}
    for lang, texts in columns.items():
        if lang == reference:
            continue
        lang_bytes = byte_lengths(texts)
        if len(lang_bytes) != n:
            raise ValueError(f"column {lang} has {len(lang_bytes)} units, the reference has {n}")
        shared = (ref_bytes > 0) & (lang_bytes > 0)
        units = int(shared.sum())
        if units == 0:
            warnings.warn(f"{lang}: no unit shared with {reference}; no premium computed", FewUnitsWarning, stacklevel=3)
            continue
        if units < min_units:
            warnings.warn(
                f"{lang}: premium from only {units} units shared with {reference} (fewer than {min_units})",
                FewUnitsWarning,
                stacklevel=3,
            )
        num, den = lang_bytes[shared], ref_bytes[shared]
        low, high = _bootstrap_ratio(num, den, n_bootstrap=n_bootstrap, confidence=confidence, seed=derived_seed(seed, lang))
        premiums[lang] = Premium(lang, float(num.sum() / den.sum()), source, units=units, ci_low=low, ci_high=high, origin=origin)
    return PremiumTable(premiums, reference=reference)


def _bootstrap_ratio(
    num: np.ndarray, den: np.ndarray, *, n_bootstrap: int, confidence: float, seed: int
) -> tuple[float | None, float | None]:
    """Percentile interval of sum(num)/sum(den) over units resampled with replacement."""
    if n_bootstrap <= 0:
        return None, None
    rng = np.random.default_rng(seed)
    ratios = np.empty(n_bootstrap)
    chunk = max(1, 2_000_000 // len(num))  # bound the index matrix to ~16 MB
    for start in range(0, n_bootstrap, chunk):
        stop = min(n_bootstrap, start + chunk)
        idx = rng.integers(0, len(num), size=(stop - start, len(num)))
        ratios[start:stop] = num[idx].sum(axis=1) / den[idx].sum(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(ratios, [tail, 1 - tail])
    return float(low), float(high)


def read_parallel_columns(path: str | Path, split: str | None = None) -> dict[str, list[str]]:
    """Multi-parallel text as aligned columns by canonical language: a TSV with one column per
    language, or a FLORES-200-style directory of line-aligned ``<lang>.<split>`` files."""
    path = Path(path)
    if path.is_dir():
        return _read_flores_dir(path, split)
    if path.is_file():
        return _read_parallel_tsv(path)
    raise ValueError(f"parallel corpus {path} does not exist")


def byte_lengths(texts: Sequence[str | None]) -> np.ndarray:
    array = pa.array(texts, pa.string())
    return pc.fill_null(pc.binary_length(array), 0).to_numpy(zero_copy_only=False).astype(np.int64)


def _read_parallel_tsv(path: Path) -> dict[str, list[str]]:
    """Columns of a multi-parallel TSV keyed by canonical code. Several columns for one
    language (``es``, ``es_AR``, ``es_MX``) keep the shortest-named one, with a warning.
    Cells are taken literally (no quoting); short rows are padded with missing cells."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if not header:
            raise ValueError(f"parallel TSV {path} is empty")
        rows = list(reader)
    candidates: dict[str, list[int]] = {}
    for index, name in enumerate(header):
        lang = code_or_none(name, table_code)
        if lang is not None:
            candidates.setdefault(lang, []).append(index)
    chosen = {lang: min(indices, key=lambda i: len(header[i])) for lang, indices in candidates.items()}
    dropped = [header[i] for lang, indices in candidates.items() for i in indices if i != chosen[lang]]
    if dropped:
        warnings.warn(f"{path}: columns {dropped} repeat the language of another column and are ignored", stacklevel=3)
    width = len(header)
    columns: dict[str, list[str]] = {lang: [] for lang in chosen}
    for line_no, row in enumerate(rows, start=2):
        if len(row) > width:
            raise ValueError(f"{path}:{line_no}: {len(row)} cells, the header has {width}")
        for lang, index in chosen.items():
            columns[lang].append(row[index] if index < len(row) else "")
    return columns


def _read_flores_dir(path: Path, split: str | None) -> dict[str, list[str]]:
    """Line-aligned files ``<lang>.<split>`` (FLORES-200: ``hin_Deva.devtest``); all must have
    the same number of lines."""
    files = [f for f in sorted(path.iterdir()) if f.is_file() and "." in f.name]
    splits = sorted({f.name.split(".", 1)[1] for f in files})
    if split is None:
        if len(splits) != 1:
            raise ValueError(f"{path} holds splits {splits}; choose one with split=...")
        split = splits[0]
    columns: dict[str, list[str]] = {}
    lines_in: dict[Path, int] = {}
    for file in files:
        stem, _, suffix = file.name.partition(".")
        lang = code_or_none(stem, table_code) if suffix == split else None
        if lang is not None:
            columns[lang] = file.read_text(encoding="utf-8").splitlines()
            lines_in[file] = len(columns[lang])
    if not columns:
        raise ValueError(f"{path} has no files named <lang>.{split}")
    counts = list(lines_in.values())
    if len(set(counts)) > 1:
        most = max(set(counts), key=counts.count)
        odd = [f"{file} ({n} lines)" for file, n in lines_in.items() if n != most]
        raise ValueError(f"misaligned parallel files: most have {most} lines, but {', '.join(odd)}")
    return columns


def _optional(value: str | None, kind: type):
    value = (value or "").strip()
    return kind(value) if value else None
