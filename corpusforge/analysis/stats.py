"""The numbers a report states, computed from Parquet columns in one pass per output.

Each :class:`Accumulator` names the columns it needs, takes Arrow batches and keeps small
partial aggregates (Arrow group-bys and fixed-bin histograms, never Python rows), so memory stays
flat and time grows with the rows scanned. :func:`scan` reads each output once and feeds every
accumulator of that output. Results are plain JSON values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.analysis.scan import OutputFiles

SCORE_BINS = 20  # LID confidence and MT-score histograms
CMI_BINS = 20  # CMI is 0..100
CONFUSION_MIN_SCORE = 0.1  # a runner-up label counts as a confusion from this score up
UNCERTAIN_BELOW = 0.5  # LID rows "unsure" below this confidence
EXAMPLES = 3  # examples per (stage, reason)
PREVIEW_CHARS = 200
MT_ORIGINS = ("mt", "backtranslation")


def _strings(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Dictionary-encoded strings as plain strings (partials from different files then concat)."""
    return array.cast(pa.string()) if pa.types.is_dictionary(array.type) else array


def _grouped(table: pa.Table, keys: list[str], sums: list[str]) -> pa.Table:
    """One batch's group-by (``keys + sums``, sums summed), keys as plain strings: batches read
    their own dictionaries, which partials of different batches must not mix."""
    g = table.group_by(keys).aggregate([(s, "sum") for s in sums])
    g = g.select([*keys, *(f"{s}_sum" for s in sums)]).rename_columns([*keys, *sums])
    for i, name in enumerate(keys):
        if pa.types.is_dictionary(g.schema.field(name).type):
            g = g.set_column(i, name, g.column(name).cast(pa.string()))
    return g


def _ones(n: int) -> pa.Array:
    return pa.repeat(pa.scalar(1, pa.int64()), n)


def _sum_groups(parts: list[pa.Table], keys: list[str], sums: list[str]) -> list[dict]:
    """Sum partial group-bys (columns ``keys + sums``) into one dict per key."""
    if not parts:
        return []
    table = pa.concat_tables(parts).group_by(keys).aggregate([(s, "sum") for s in sums])
    return [{**{k: r[k] for k in keys}, **{s: r[f"{s}_sum"] for s in sums}} for r in table.to_pylist()]


class Accumulator:
    """Partial aggregates of one output's batches."""

    output: str

    def columns(self, schema: pa.Schema) -> list[str]:
        raise NotImplementedError

    def add(self, batch: pa.RecordBatch) -> None:
        raise NotImplementedError

    def result(self) -> dict | None:
        raise NotImplementedError


def text_sides(schema: pa.Schema) -> list[tuple[str, str, str]]:
    """(column prefix, text column, language column) of each text a record holds."""
    if "src_text" in schema.names:
        return [("src_", "src_text", "src_lang"), ("tgt_", "tgt_text", "tgt_lang")]
    return [("", "text", "lang")] if "text" in schema.names else []


class LanguageSizes(Accumulator):
    """Per language: texts, raw UTF-8 bytes, English-equivalent bytes (``norm_bytes``, after the
    ``premium`` stage) and the premium sources used; bitext counts each side under its own
    language. Without premium columns, raw bytes are measured on the text column."""

    def __init__(self, output: str):
        self.output = output
        self.parts: list[pa.Table] = []
        self.source_parts: list[pa.Table] = []
        self.has_premium = False
        self.sides: list[tuple[str, str, str]] = []

    def columns(self, schema: pa.Schema) -> list[str]:
        self.sides = text_sides(schema)
        self.has_premium = all(f"{p}norm_bytes" in schema.names for p, _, _ in self.sides) and bool(self.sides)
        cols = []
        for prefix, text, lang in self.sides:
            cols.append(lang)
            cols += [f"{prefix}n_bytes", f"{prefix}norm_bytes", f"{prefix}premium_source"] if self.has_premium else [text]
        return cols

    def add(self, batch: pa.RecordBatch) -> None:
        for prefix, text, lang_column in self.sides:
            lang = batch.column(lang_column) if lang_column in batch.schema.names else pa.nulls(batch.num_rows, pa.string())
            lang = pc.fill_null(lang, "und")
            if self.has_premium:
                raw = pc.fill_null(batch.column(f"{prefix}n_bytes"), 0)
                norm = pc.fill_null(batch.column(f"{prefix}norm_bytes"), 0.0)
                source = pc.fill_null(batch.column(f"{prefix}premium_source"), "none")
                table = pa.table({"lang": lang, "premium_source": source, "n": _ones(batch.num_rows)})
                self.source_parts.append(_grouped(table, ["lang", "premium_source"], ["n"]))
            else:
                raw = pc.fill_null(pc.binary_length(batch.column(text).cast(pa.binary())), 0)
                norm = pa.nulls(batch.num_rows, pa.float64())
            part = pa.table({"lang": lang, "n": _ones(batch.num_rows), "bytes": raw.cast(pa.int64()), "norm": pc.cast(norm, pa.float64())})
            self.parts.append(_grouped(part, ["lang"], ["n", "bytes", "norm"]))

    def result(self) -> dict | None:
        rows = _sum_groups(self.parts, ["lang"], ["n", "bytes", "norm"])
        if not rows:
            return None
        sources: dict[str, list[str]] = {}
        for r in _sum_groups(self.source_parts, ["lang", "premium_source"], ["n"]):
            sources.setdefault(r["lang"], []).append(r["premium_source"])
        total_bytes = sum(r["bytes"] for r in rows)
        total_norm = sum(r["norm"] or 0.0 for r in rows) if self.has_premium else None
        languages = []
        for r in sorted(rows, key=lambda r: (-(r["norm"] or 0.0) if self.has_premium else -r["bytes"], r["lang"])):
            norm = r["norm"] if self.has_premium else None
            languages.append(
                {
                    "lang": r["lang"],
                    "texts": r["n"],
                    "bytes": r["bytes"],
                    "norm_bytes": norm,
                    "premium": (r["bytes"] / norm) if norm else None,
                    "premium_source": sorted(sources.get(r["lang"], [])),
                    "share_bytes": r["bytes"] / total_bytes if total_bytes else 0.0,
                    "share_norm_bytes": (norm / total_norm) if norm is not None and total_norm else None,
                }
            )
        return {"output": self.output, "premium": self.has_premium, "bytes": total_bytes, "norm_bytes": total_norm, "languages": languages}


def _second_of(topk: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """(first label, first score, second label, second score) of each row's ``lang_topk``
    (null where the list is shorter)."""
    fixed = pc.list_slice(topk, 0, 2, return_fixed_size_list=True)
    if isinstance(fixed, pa.ChunkedArray):
        fixed = fixed.combine_chunks()
    values = fixed.values.slice(fixed.offset * 2, len(fixed) * 2)
    first = pc.take(values, pa.array(np.arange(0, 2 * len(fixed), 2)))
    second = pc.take(values, pa.array(np.arange(1, 2 * len(fixed), 2)))
    valid = pc.is_valid(fixed)

    def field(arr: pa.Array, name: str) -> pa.Array:
        return pc.if_else(valid, pc.struct_field(arr, name), pa.scalar(None, pc.struct_field(arr, name).type))

    return field(first, "lang"), field(first, "score"), field(second, "lang"), field(second, "score")


class LidScores(Accumulator):
    """Language-ID confidence: per language rows, mean score, rows below
    :data:`UNCERTAIN_BELOW`, a :data:`SCORE_BINS`-bin histogram; and the commonest confusions:
    (assigned language, the best other label in ``lang_topk``) where that label scored at least
    :data:`CONFUSION_MIN_SCORE`. Bitext sides are counted under their own language."""

    def __init__(self, output: str):
        self.output = output
        self.prefixes: list[str] = []
        self.hist: list[pa.Table] = []
        self.confusions: list[pa.Table] = []

    def columns(self, schema: pa.Schema) -> list[str]:
        self.prefixes = [p for p, _, _ in text_sides(schema) if f"{p}lang_score" in schema.names]
        cols = []
        for p in self.prefixes:
            cols += [f"{p}lang", f"{p}lang_score"] + ([f"{p}lang_topk"] if f"{p}lang_topk" in schema.names else [])
        return cols

    def add(self, batch: pa.RecordBatch) -> None:
        for p in self.prefixes:
            lang = pc.fill_null(batch.column(f"{p}lang"), "und")
            score = pc.cast(batch.column(f"{p}lang_score"), pa.float64())
            scored = pc.is_valid(score)
            lang, score = pc.filter(lang, scored), pc.filter(score, scored)
            bins = pc.min_element_wise(pc.cast(pc.floor(pc.multiply(score, SCORE_BINS)), pa.int64()), SCORE_BINS - 1)
            bins = pc.max_element_wise(bins, 0)
            unsure = pc.cast(pc.less(score, UNCERTAIN_BELOW), pa.int64())
            part = pa.table({"lang": lang, "bin": bins, "n": _ones(len(lang)), "score": score, "unsure": unsure})
            self.hist.append(_grouped(part, ["lang", "bin"], ["n", "score", "unsure"]))
            if f"{p}lang_topk" not in batch.schema.names:
                continue
            # Scores are probabilities (they sum to at most 1), so a row whose language scored
            # above 1 - CONFUSION_MIN_SCORE has no runner-up that counts: only the rest is looked at.
            below = pc.less_equal(score, 1.0 - CONFUSION_MIN_SCORE + 1e-6)
            lang = _strings(lang.filter(below))
            topk = batch.column(f"{p}lang_topk").filter(scored).filter(below)
            first, first_score, second, second_score = _second_of(topk)
            first, second = _strings(first), _strings(second)
            first_is_lang = pc.equal(pc.fill_null(first, ""), lang)
            other = pc.if_else(first_is_lang, second, first)
            other_score = pc.if_else(first_is_lang, second_score, first_score)
            keep = pc.and_(pc.is_valid(other), pc.greater_equal(pc.fill_null(other_score, 0.0), CONFUSION_MIN_SCORE))
            keep = pc.and_(keep, pc.not_equal(pc.fill_null(other, ""), lang))
            pairs = pa.table({"lang": lang.filter(keep), "other": other.filter(keep)})
            self.confusions.append(_grouped(pairs.append_column("n", _ones(pairs.num_rows)), ["lang", "other"], ["n"]))

    def result(self) -> dict | None:
        rows = _sum_groups(self.hist, ["lang", "bin"], ["n", "score", "unsure"])
        if not rows:
            return None
        languages: dict[str, dict] = {}
        for r in rows:
            entry = languages.setdefault(
                r["lang"], {"lang": r["lang"], "rows": 0, "score_sum": 0.0, "unsure": 0, "histogram": [0] * SCORE_BINS}
            )
            entry["rows"] += r["n"]
            entry["score_sum"] += r["score"]
            entry["unsure"] += r["unsure"]
            entry["histogram"][r["bin"]] += r["n"]
        out = []
        for entry in sorted(languages.values(), key=lambda e: (-e["rows"], e["lang"])):
            out.append({**{k: v for k, v in entry.items() if k != "score_sum"}, "mean_score": entry["score_sum"] / entry["rows"]})
        confusions = sorted(_sum_groups(self.confusions, ["lang", "other"], ["n"]), key=lambda r: (-r["n"], r["lang"], r["other"]))
        return {"output": self.output, "languages": out, "confusions": confusions, "bins": SCORE_BINS}


class Rejections(Accumulator):
    """Rejected rows by (stage, reason), with the first :data:`EXAMPLES` of each (bounded
    previews), and the ``lang_filter`` rejections by the threshold each fell below."""

    output = "rejected"
    EXAMPLE_COLUMNS = ("source", "detail", "file", "offset", "preview")

    def __init__(self) -> None:
        self.parts: list[pa.Table] = []
        self.threshold_parts: list[pa.Table] = []
        self.examples: dict[tuple[str, str], list[dict]] = {}

    def columns(self, schema: pa.Schema) -> list[str]:
        return ["stage", "reason", *self.EXAMPLE_COLUMNS]

    def add(self, batch: pa.RecordBatch) -> None:
        stage, reason = batch.column("stage"), batch.column("reason")
        grouped = _grouped(pa.table({"stage": stage, "reason": reason, "n": _ones(batch.num_rows)}), ["stage", "reason"], ["n"])
        self.parts.append(grouped)
        for key in grouped.select(["stage", "reason"]).to_pylist():
            have = self.examples.setdefault((key["stage"], key["reason"]), [])
            if len(have) >= EXAMPLES:
                continue
            mask = pc.and_(pc.equal(stage, key["stage"]), pc.equal(reason, key["reason"]))
            index = pc.indices_nonzero(mask).slice(0, EXAMPLES - len(have))
            picked = batch.select([c for c in self.EXAMPLE_COLUMNS if c in batch.schema.names]).take(index)
            for row in picked.to_pylist():
                row["preview"] = _bounded(row.get("preview"))
                row["detail"] = _bounded(row.get("detail"))
                have.append(row)
        if "detail" in batch.schema.names:
            lid = pc.equal(stage, "lang_filter")
            if pc.any(lid).as_py():
                detail = pc.filter(batch.column("detail"), lid)
                threshold = pc.struct_field(pc.extract_regex(pc.fill_null(detail, ""), r"< (?P<t>\S+)$"), "t")
                t = pa.table({"reason": _strings(pc.filter(reason, lid)), "threshold": pc.fill_null(threshold, "")})
                self.threshold_parts.append(_grouped(t.append_column("n", _ones(t.num_rows)), ["reason", "threshold"], ["n"]))

    def result(self) -> dict | None:
        rows = _sum_groups(self.parts, ["stage", "reason"], ["n"])
        if not rows:
            return None
        groups = [
            {"stage": r["stage"], "reason": r["reason"], "rows": r["n"], "examples": self.examples.get((r["stage"], r["reason"]), [])}
            for r in sorted(rows, key=lambda r: (-r["n"], r["stage"], r["reason"]))
        ]
        thresholds = sorted(_sum_groups(self.threshold_parts, ["reason", "threshold"], ["n"]), key=lambda r: (r["reason"], r["threshold"]))
        return {"rows": sum(r["n"] for r in rows), "groups": groups, "lang_filter": thresholds}


def _bounded(text: str | None, limit: int = PREVIEW_CHARS) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + "…"


class Histogram:
    """A fixed-bin histogram filled batch by batch (numpy on the column's values)."""

    def __init__(self, low: float, high: float, bins: int):
        self.edges = np.linspace(low, high, bins + 1)
        self.counts = np.zeros(bins, dtype=np.int64)
        self.total = 0.0
        self.n = 0

    def add(self, values: pa.Array | pa.ChunkedArray) -> None:
        data = pc.drop_null(values).to_numpy(zero_copy_only=False).astype(np.float64)
        data = data[np.isfinite(data)]
        clipped = np.clip(data, self.edges[0], self.edges[-1])
        self.counts += np.histogram(clipped, bins=self.edges)[0]
        self.total += float(data.sum())
        self.n += int(data.size)

    def to_dict(self) -> dict:
        return {"edges": self.edges.tolist(), "counts": self.counts.tolist(), "n": self.n, "mean": self.total / self.n if self.n else None}


class CodeSwitching(Accumulator):
    """CMI and switch-point distributions, embedded and matrix languages, spans by method."""

    def __init__(self, output: str):
        self.output = output
        self.cmi = Histogram(0.0, 100.0, CMI_BINS)
        self.switch_points: Counter = Counter()
        self.embedded: Counter = Counter()
        self.matrix: Counter = Counter()
        self.rows = 0

    def columns(self, schema: pa.Schema) -> list[str]:
        return ["cmi", "switch_points", "embedded_langs", "matrix_lang"]

    def add(self, batch: pa.RecordBatch) -> None:
        names = batch.schema.names
        self.rows += batch.num_rows
        if "cmi" in names:
            self.cmi.add(batch.column("cmi"))
        for column, counter in (("switch_points", self.switch_points), ("matrix_lang", self.matrix)):
            if column in names:
                for entry in pc.value_counts(pc.drop_null(_strings(batch.column(column)))).to_pylist():
                    counter[entry["values"]] += entry["counts"]
        if "embedded_langs" in names:
            for entry in pc.value_counts(pc.list_flatten(batch.column("embedded_langs"))).to_pylist():
                self.embedded[entry["values"]] += entry["counts"]

    def result(self) -> dict | None:
        if not self.rows or (not self.cmi.n and not self.embedded):
            return None
        return {
            "output": self.output,
            "rows": self.rows,
            "cmi": self.cmi.to_dict(),
            "switch_points": sorted(self.switch_points.items()),
            "embedded": sorted(self.embedded.items(), key=lambda kv: (-kv[1], kv[0])),
            "matrix": sorted(self.matrix.items(), key=lambda kv: (-kv[1], kv[0])),
        }


class Translation(Accumulator):
    """Machine-translated pairs (``origin`` mt or backtranslation): per direction pairs, source
    tokens (whitespace-separated runs) and truncations; the score distribution; round-trip chrF
    when the stage computed it."""

    output = "bitext"

    def __init__(self) -> None:
        self.parts: list[pa.Table] = []
        self.score = Histogram(-5.0, 0.0, SCORE_BINS)
        self.chrf = Histogram(0.0, 100.0, SCORE_BINS)
        self.active = False

    def columns(self, schema: pa.Schema) -> list[str]:
        self.active = "mt_model" in schema.names
        return (
            ["origin", "src_lang", "tgt_lang", "src_text", "mt_model", "mt_score", "mt_truncated", "mt_round_trip_chrf"]
            if self.active
            else []
        )

    def add(self, batch: pa.RecordBatch) -> None:
        if not self.active:
            return
        mt = pc.is_in(_strings(batch.column("origin")), pa.array(MT_ORIGINS))
        if not pc.any(mt).as_py():
            return
        b = batch.filter(mt)
        tokens = pc.count_substring_regex(b.column("src_text"), r"\S+")
        truncated = (
            pc.cast(pc.fill_null(b.column("mt_truncated"), False), pa.int64())
            if "mt_truncated" in b.schema.names
            else pa.repeat(0, b.num_rows)
        )
        part = pa.table(
            {
                "src_lang": pc.fill_null(_strings(b.column("src_lang")), "und"),
                "tgt_lang": pc.fill_null(_strings(b.column("tgt_lang")), "und"),
                "model": pc.fill_null(_strings(b.column("mt_model")), ""),
                "n": pa.repeat(pa.scalar(1, pa.int64()), b.num_rows),
                "tokens": pc.cast(tokens, pa.int64()),
                "truncated": truncated,
            }
        )
        g = part.group_by(["src_lang", "tgt_lang", "model"]).aggregate([("n", "sum"), ("tokens", "sum"), ("truncated", "sum")])
        self.parts.append(
            g.select(["src_lang", "tgt_lang", "model", "n_sum", "tokens_sum", "truncated_sum"]).rename_columns(
                ["src_lang", "tgt_lang", "model", "n", "tokens", "truncated"]
            )
        )
        if "mt_score" in b.schema.names:
            self.score.add(b.column("mt_score"))
        if "mt_round_trip_chrf" in b.schema.names:
            self.chrf.add(b.column("mt_round_trip_chrf"))

    def result(self) -> dict | None:
        rows = _sum_groups(self.parts, ["src_lang", "tgt_lang", "model"], ["n", "tokens", "truncated"])
        if not rows:
            return None
        return {
            "directions": sorted(rows, key=lambda r: (-r["n"], r["src_lang"], r["tgt_lang"], r["model"])),
            "score": self.score.to_dict(),
            "round_trip_chrf": self.chrf.to_dict() if self.chrf.n else None,
        }


class Transliteration(Accumulator):
    """Transliterated text: segments with a ``text_translit`` column filled, per language; and
    bitext pairs of ``origin`` transliteration, per direction."""

    def __init__(self, output: str):
        self.output = output
        self.counts: Counter = Counter()

    def columns(self, schema: pa.Schema) -> list[str]:
        if self.output == "bitext":
            return ["origin", "src_lang", "tgt_lang"]
        return ["lang", "text_translit"] if "text_translit" in schema.names else []

    def add(self, batch: pa.RecordBatch) -> None:
        if self.output == "bitext":
            keep = pc.equal(_strings(batch.column("origin")), "transliteration")
            keys = [pc.filter(_strings(batch.column(c)), keep) for c in ("src_lang", "tgt_lang")]
        else:
            if "text_translit" not in batch.schema.names:
                return
            keep = pc.is_valid(batch.column("text_translit"))
            keys = [pc.filter(_strings(batch.column("lang")), keep)]
        if not len(keys[0]):
            return
        table = pa.table({f"k{i}": pc.fill_null(k, "und") for i, k in enumerate(keys)})
        table = table.append_column("n", pa.repeat(pa.scalar(1, pa.int64()), table.num_rows))
        for r in table.group_by(table.column_names[:-1]).aggregate([("n", "sum")]).to_pylist():
            self.counts[tuple(r[f"k{i}"] for i in range(len(keys)))] += r["n_sum"]

    def result(self) -> dict | None:
        if not self.counts:
            return None
        return {"output": self.output, "counts": sorted(([*k, n] for k, n in self.counts.items()), key=lambda r: (-r[-1], r[:-1]))}


def scan(files: OutputFiles, accumulators: Iterable[Accumulator]) -> int:
    """Feed each output's batches, read once with the union of the columns its accumulators
    need, to those accumulators; the rows scanned."""
    by_output: dict[str, list[Accumulator]] = {}
    for acc in accumulators:
        by_output.setdefault(acc.output, []).append(acc)
    rows = 0
    for output, accs in by_output.items():
        schema = files.schema(output)
        if schema is None:
            continue
        columns: list[str] = []
        for acc in accs:
            columns += acc.columns(schema)
        if not columns:
            continue
        for batch in files.batches(output, columns):
            rows += batch.num_rows
            for acc in accs:
                acc.add(batch)
    return rows
