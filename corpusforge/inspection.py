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
    return "\n".join(p for p in parts if p)
