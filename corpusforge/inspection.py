"""``corpusforge inspect``: what an output directory holds, from its manifest and its shards."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from corpusforge.manifest import load_manifest, summary_table
from corpusforge.schemas import entries_dict


def _dataset(path: Path) -> ds.Dataset | None:
    files = sorted(str(f) for f in path.rglob("*.parquet"))
    return ds.dataset(files, format="parquet") if files else None


def _is_entries(dtype: pa.DataType) -> bool:
    """A mapping stored as (key, value) entries (``meta``, ``script_props``)."""
    return pa.types.is_list(dtype) and pa.types.is_struct(dtype.value_type) and [f.name for f in dtype.value_type] == ["key", "value"]


def _sample(dataset: ds.Dataset, rows: int) -> list[dict]:
    """The first rows, with entry columns shown as objects (``{"url": ...}``)."""
    entries = [f.name for f in dataset.schema if _is_entries(f.type)]
    sample = dataset.head(rows).to_pylist()
    for row in sample:
        for name in entries:
            row[name] = entries_dict(row[name]) if row[name] is not None else None
    return sample


def _counts(dataset: ds.Dataset, columns: list[str]) -> str:
    present = [c for c in columns if c in dataset.schema.names]
    if not present:
        return ""
    table = dataset.to_table(columns=present).group_by(present).aggregate([([], "count_all")])
    rows = sorted(table.to_pylist(), key=lambda r: (-r["count_all"], *[str(r[c]) for c in present]))
    width = max(len(" / ".join(str(r[c]) for c in present)) for r in rows)
    lines = [f"  {' / '.join(present)}:"]
    lines += [f"    {' / '.join(str(r[c]) for c in present):<{width}}  {r['count_all']:>10,}" for r in rows]
    return "\n".join(lines)


def _listed(root: Path, name: str, output: dict, rows: int) -> str:
    """An output that is not Parquet (the variants job's JSON lines), from the manifest's file
    list (paths relative to the output directory): its row count and its first lines."""
    files = output.get("files", [])
    if not output.get("rows"):
        return f"\n== {name}: no rows"
    lines = [f"\n== {name}: {output['rows']:,} rows in {len(files)} file(s) ({output.get('schema')})", "  sample rows:"]
    with open(root / files[0]["path"], encoding="utf-8") as f:
        lines += [f"    {line.rstrip()[:300]}" for line, _ in zip(f, range(rows))]
    return "\n".join(lines)


def describe_output(output_dir: str, *, rows: int = 5) -> str:
    """Schema, counts per language and source, sample rows of each output, then the manifest summary."""
    root = Path(output_dir)
    manifest = load_manifest(output_dir)
    parts = [f"{root}  (corpusforge {manifest.get('corpusforge_version')}, recipe {manifest.get('recipe_hash')})"]
    for name in sorted(manifest.get("outputs", {})):
        dataset = _dataset(root / name)
        if dataset is None:
            parts.append(_listed(root, name, manifest["outputs"][name], rows))
            continue
        parts.append(f"\n== {name}: {dataset.count_rows():,} rows in {len(dataset.files)} file(s)")
        parts.append("  schema:\n" + "\n".join(f"    {f.name}: {f.type}" for f in dataset.schema))
        lang_cols = ["lang"] if "lang" in dataset.schema.names else ["src_lang", "tgt_lang"]
        parts.append(_counts(dataset, ["source"]))
        parts.append(_counts(dataset, lang_cols if name != "rejected" else ["stage", "reason"]))
        sample = _sample(dataset, rows)
        parts.append("  sample rows:")
        parts += [f"    {json.dumps(row, ensure_ascii=False, default=str)[:300]}" for row in sample]
    parts.append("\n" + summary_table(manifest))
    parts += [manifest_sections(manifest)]
    return "\n".join(p for p in parts if p)


def _aligned(header: list[str], rows: list[list[str]], indent: str = "  ", *, numbers: bool = True) -> str:
    """Rows under a header, the first column left-aligned, the rest right-aligned (``numbers``)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return (
            indent + "  ".join(c.ljust(w) if i == 0 or not numbers else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
        )

    return "\n".join([line(header), indent + "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def manifest_sections(manifest: dict) -> str:
    """The manifest's sections beyond the per-source summary: the run, per-stage counts (with
    rejections by reason), per-language sizes (``languages``, ``languages_before_sample``) and the
    sampler's target vs achieved shares (``sampling``)."""
    parts = []
    run = manifest.get("run")
    if run:
        parts.append(f"\nrun: {run.get('runner')}, started {run.get('started_at')}, manifest written {manifest.get('created_at')}")
    stage_counts = manifest.get("stage_counts") or {}
    if stage_counts:
        rows = []
        for stage, counts in stage_counts.items():
            outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()) if k != "rejected_by_reason")
            reasons = ", ".join(
                f"{k} {v:,}" for k, v in sorted((counts.get("rejected_by_reason") or {}).items(), key=lambda kv: (-kv[1], kv[0]))
            )
            rows.append([stage, outcomes, reasons])
        parts.append("\nper-stage counts:\n" + _aligned(["stage", "rows by outcome", "rejected by reason"], rows, numbers=False))
    for key, title in (("languages_before_sample", "languages before sampling"), ("languages", "languages written")):
        languages = manifest.get(key)
        if not languages:
            continue
        rows = [
            [
                lang,
                f"{e.get('segments', 0):,}",
                f"{e.get('bytes', 0):,}",
                f"{e.get('norm_bytes', 0):,.0f}",
                _share(e.get("share_norm_bytes")),
                ", ".join(e.get("premium_source") or []),
            ]
            for lang, e in sorted(languages.items(), key=lambda kv: (-kv[1].get("norm_bytes", 0), kv[0]))
        ]
        header = ["language", "segments", "bytes", "English-eq. bytes", "share", "premium source"]
        parts.append(f"\n{title} ({key}):\n" + _aligned(header, rows))
    sampling = (manifest.get("sampling") or {}).get("languages")
    if sampling:
        rows = [
            [
                lang,
                f"{e.get('rate', 1.0):.3f}",
                _share(e.get("target_share")),
                _share(e.get("achieved_share")),
                "-" if e.get("share_error_pp") is None else f"{e['share_error_pp']:+.2f}",
                f"{e.get('segments_in', 0):,}",
                f"{e.get('segments_out', 0):,}",
            ]
            for lang, e in sorted(sampling.items())
        ]
        header = ["language", "rate", "target", "achieved", "error (pp)", "segments in", "segments out"]
        parts.append(f"\nsampling (seed {manifest['sampling'].get('seed')}):\n" + _aligned(header, rows))
    return "\n".join(parts)
