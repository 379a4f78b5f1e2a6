"""Byte premiums and byte-budget statistics, runner-free: premium tables and premiums measured
from parallel text (:mod:`~corpusforge.premium.tables`), per-language byte statistics
(:mod:`~corpusforge.premium.stats`) and sampling statistics (:mod:`~corpusforge.premium.sampling`).
The ``premium`` and ``sample`` stages in :mod:`corpusforge.transforms` wrap them."""

from corpusforge.premium.sampling import HASH_BUCKETS, SamplingStats, segment_languages, temperature_targets
from corpusforge.premium.stats import UNKNOWN_LANG, LanguageStats, LanguageTotals, milli_bytes, text_sides
from corpusforge.premium.tables import (
    EMBEDDED_TABLE,
    IMPUTED_SOURCES,
    MIN_UNITS,
    REFERENCE,
    SOURCE_ESTIMATE,
    SOURCE_MEDIAN,
    SOURCE_PARALLEL,
    SOURCE_REFERENCE,
    SOURCE_SCRIPT_MEDIAN,
    SOURCE_TABLE,
    FewUnitsWarning,
    Premium,
    PremiumTable,
    byte_lengths,
    byte_premiums_from_columns,
    byte_premiums_from_parallel,
    premium,
    read_parallel_columns,
    table_code,
)

__all__ = [
    "EMBEDDED_TABLE",
    "HASH_BUCKETS",
    "IMPUTED_SOURCES",
    "MIN_UNITS",
    "REFERENCE",
    "SOURCE_ESTIMATE",
    "SOURCE_MEDIAN",
    "SOURCE_PARALLEL",
    "SOURCE_REFERENCE",
    "SOURCE_SCRIPT_MEDIAN",
    "SOURCE_TABLE",
    "UNKNOWN_LANG",
    "FewUnitsWarning",
    "LanguageStats",
    "LanguageTotals",
    "Premium",
    "PremiumTable",
    "SamplingStats",
    "byte_lengths",
    "byte_premiums_from_columns",
    "byte_premiums_from_parallel",
    "milli_bytes",
    "premium",
    "read_parallel_columns",
    "segment_languages",
    "table_code",
    "temperature_targets",
    "text_sides",
]
