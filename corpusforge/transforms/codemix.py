"""The code-mixing metrics stage: the columns of :func:`corpusforge.codeswitch.metrics.code_mixing_metrics`
(formulas there) from a ``tokens`` column."""

from __future__ import annotations

import pyarrow as pa

from corpusforge.codeswitch.metrics import INDEPENDENT, code_mixing_metrics
from corpusforge.records import Split, with_columns
from corpusforge.transforms.base import Stage

METRIC_FIELDS = [
    pa.field("cmi", pa.float64(), metadata={"doc": "Code-mixing index (Das & Gambaeck 2014, utterance level), 0-100."}),
    pa.field("m_index", pa.float64(), metadata={"doc": "Multilingual index (Barnett et al. 2000; Guzman et al. 2017), 0-1."}),
    pa.field("i_index", pa.float64(), metadata={"doc": "Integration index (Guzman et al. 2017): switch points / (language tokens - 1)."}),
    pa.field(
        "burstiness",
        pa.float64(),
        metadata={"doc": "Burstiness of language span lengths (Goh & Barabasi 2008), -1 to 1; null with < 2 spans."},
    ),
    pa.field("switch_points", pa.int32(), metadata={"doc": "Number of language switch points."}),
    pa.field("switch_fraction", pa.float64(), metadata={"doc": "Switch points per token (all tokens)."}),
]


class CodeMixingMetrics(Stage):
    """Adds the metric columns (``cmi``, ``m_index``, ``i_index``, ``burstiness``,
    ``switch_points``, ``switch_fraction``) computed from the ``tokens`` column; keeps every row.
    ``cmi`` and ``switch_points`` have the types the codeswitch schema gives them."""

    name = "codemix_metrics"
    version = "1"
    kinds = ("segment", "codeswitch")
    requires = ("tokens",)

    def __init__(self, *, independent: list[str] | None = None):
        if independent is not None and not independent:
            raise ValueError("independent must name at least one tag (e.g. 'other'); leave it out for other/und")
        self.independent = frozenset(independent if independent is not None else INDEPENDENT)

    def output_fields(self, kind: str) -> list[pa.Field]:
        return list(METRIC_FIELDS)

    def describe(self) -> dict:
        return {**super().describe(), "independent": sorted(self.independent)}

    def process(self, batch: pa.RecordBatch) -> Split:
        if "tokens" not in batch.schema.names:
            raise ValueError("column 'tokens' is missing: run TokenTagger before CodeMixingMetrics")
        tokens = batch.column("tokens")
        tags = tokens.values.field("tag").to_pylist()
        offsets = tokens.offsets.to_pylist()
        rows = [code_mixing_metrics(tags[offsets[i] : offsets[i + 1]], independent=self.independent) for i in range(batch.num_rows)]
        arrays = [pa.array([row[f.name] for row in rows], f.type) for f in METRIC_FIELDS]
        return Split.keep_all(with_columns(batch, METRIC_FIELDS, arrays))
