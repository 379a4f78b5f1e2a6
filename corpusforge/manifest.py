"""The run manifest: what a run read, wrote, refused and removed, per source and per stage, and
the files it wrote, with proof that the counts balance:

    read + created == written + rejected + duplicates   (per source and overall)

and that every rejected row was stored in the ``rejected`` output. An unbalanced run is written
down (``balanced: false`` with the difference per source) and logged as an error, never passed
silently. Runner-free: the Beam side (``corpusforge.beam.write.WriteManifest``) calls the same
functions once all shards are final.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from typing import BinaryIO

from corpusforge import __version__
from corpusforge.accounting import DUPLICATE_STORED, FILES, READ_STAGE, WRITE_STAGE, Tally
from corpusforge.io.shards import ShardInfo

MANIFEST_NAME = "_manifest.json"
REJECTED_OUTPUT = "rejected"
# Outputs about the records rather than records (one row per multi-way tuple): listed with their
# files, never counted as written rows.
DESCRIPTIVE_OUTPUTS = frozenset({"multiway"})
WRITTEN = "written"
STORED = "stored"
REASON_PREFIX = "rejected:"

_LOG = logging.getLogger(__name__)


def build_manifest(
    tally: Tally,
    shards: dict[str, list[ShardInfo]],
    *,
    output_dir: str,
    config: dict,
    recipe_hash: str,
    stages: list[dict],
    models: dict,
) -> dict:
    """The manifest of a run from its stage tally and the shards of each output.

    Rows in the record outputs count as ``written`` (stage ``write``), rows in the output named
    ``rejected`` as ``stored``, which must equal the tally's rejected count plus the
    near-duplicates listed there (outcome ``duplicate_stored``). ``tally`` must not
    already hold write counts (they would count twice). File paths are made relative to
    ``output_dir``.
    """
    if tally.total(WRITTEN) or tally.total(STORED):
        raise ValueError("the tally already has written/stored counts; build_manifest adds them from the shards")
    tally = Tally(Counter(tally.counts))
    for name, infos in shards.items():
        if name in DESCRIPTIVE_OUTPUTS:
            continue
        outcome = STORED if name == REJECTED_OUTPUT else WRITTEN
        for info in infos:
            for source, n in info.rows_by_source.items():
                tally.add(WRITE_STAGE, source, outcome, n)
    sources = {source: _source_counts(tally, source) for source in tally.sources()}
    totals = _source_counts(tally, None)
    unbalanced = sorted(source for source, entry in sources.items() if not entry["balanced"])
    balanced = totals["balanced"] and not unbalanced
    if not balanced:
        _LOG.error(
            "row accounting does not balance for %s: %s",
            ", ".join(unbalanced) or "the totals",
            {s: {k: sources[s][k] for k in ("unaccounted", "rejected", "rejected_stored")} for s in unbalanced},
        )
    return {
        "corpusforge_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "recipe_hash": recipe_hash,
        "config": config,
        "stages": list(stages),
        "models": models,
        "balanced": balanced,
        "unbalanced_sources": unbalanced,
        "sources": sources,
        "totals": totals,
        "stage_counts": _stage_counts(tally),
        "outputs": {name: _output(infos, output_dir) for name, infos in shards.items()},
    }


def _source_counts(tally: Tally, source: str | None) -> dict:
    """One source's (or all sources') identity, with the rejected rows by stage and reason and
    the input files read (``files``; 0 for sources that no reader counts, such as derived ones).
    ``unaccounted`` = read + created - written - rejected - duplicates: rows lost (> 0) or
    written twice (< 0)."""
    counts = tally.balance(source)
    stored = tally.total(STORED, WRITE_STAGE, source)
    listed_duplicates = tally.total(DUPLICATE_STORED, source=source)  # near-duplicates listed in rejected/
    return {
        "files": tally.total(FILES, READ_STAGE, source),
        "read": counts["read"],
        "created": counts["created"],
        "written": counts["written"],
        "duplicates": counts["duplicates"],
        "rejected": counts["rejected"],
        "rejected_by_stage": _rejections(tally, source),
        "rejected_stored": stored,
        "unaccounted": counts["read"] + counts["created"] - counts["written"] - counts["rejected"] - counts["duplicates"],
        "balanced": counts["balanced"] and stored == counts["rejected"] + listed_duplicates,
    }


def _rejections(tally: Tally, source: str | None) -> dict[str, dict[str, int]]:
    """Rejected rows of one source (or all) by stage, then reason."""
    by_stage: dict[str, Counter] = {}
    for (stage, src, outcome), n in tally.counts.items():
        if outcome.startswith(REASON_PREFIX) and source in (None, src):
            by_stage.setdefault(stage, Counter())[outcome[len(REASON_PREFIX) :]] += n
    return {stage: dict(reasons) for stage, reasons in by_stage.items()}


def _stage_counts(tally: Tally) -> dict:
    """Per stage, rows by outcome over all sources (``out``, ``rejected``, ``duplicate``, ...),
    with rejected rows also by reason."""
    stages: dict[str, Counter] = {}
    for (stage, _, outcome), n in tally.counts.items():
        if not outcome.startswith(REASON_PREFIX):
            stages.setdefault(stage, Counter())[outcome] += n
    out: dict[str, dict] = {stage: dict(counts) for stage, counts in stages.items()}
    for stage, reasons in _rejections(tally, None).items():
        out.setdefault(stage, {})["rejected_by_reason"] = reasons
    return out


def _output(infos: list[ShardInfo], output_dir: str) -> dict:
    schema_ids = sorted({info.schema for info in infos})
    if len(schema_ids) > 1:
        raise ValueError(f"one output holds shards of several schemas: {schema_ids}")
    prefix = output_dir.rstrip("/") + "/"
    files = [
        {
            "path": info.path[len(prefix) :] if info.path.startswith(prefix) else info.path,
            "rows": info.rows,
            "bytes": info.bytes_on_disk,
            "bytes_uncompressed": info.bytes_uncompressed,
            "partition": info.partition,
        }
        for info in sorted(infos, key=lambda info: info.path)
    ]
    return {
        "schema": schema_ids[0] if schema_ids else None,
        "rows": sum(info.rows for info in infos),
        "bytes": sum(info.bytes_on_disk or 0 for info in infos),
        "files": files,
    }


def manifest_bytes(manifest: dict) -> bytes:
    """The manifest as UTF-8 JSON: sorted keys, indented, non-ASCII kept as is."""
    return (json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_manifest(target: str | os.PathLike | BinaryIO, manifest: dict) -> None:
    """Write the manifest to a local path (atomically: temp file, then rename) or to a binary
    stream the caller opened and closes (e.g. Beam's ``FileSystems.create``)."""
    data = manifest_bytes(manifest)
    if not isinstance(target, (str, os.PathLike)):
        target.write(data)
        return
    temp = f"{os.fspath(target)}.tmp"
    with open(temp, "wb") as f:
        f.write(data)
    os.replace(temp, target)


# Keys of a stage's describe() that name a model, lexicon or dictionary: what a shard's content
# depends on beyond the recipe.
MODEL_KEYS = ("model", "lexicon", "dictionary")


def stage_models(described: list[dict]) -> dict[str, dict]:
    """Per stage name, the models, lexicons and dictionaries its ``describe()`` names (for
    shard metadata and the manifest); stages that name none are left out."""
    models = {}
    for stage in described:
        named = {key: stage[key] for key in MODEL_KEYS if stage.get(key) is not None}
        if named:
            models[stage["name"]] = named
    return models


def load_manifest(output_dir: str | os.PathLike, opener: Callable[[str], BinaryIO] | None = None) -> dict:
    """The manifest a run wrote into ``output_dir``; ``opener`` reads other filesystems
    (``gs://``: Beam's, as the CLI passes)."""
    if opener is None:
        with open(os.path.join(output_dir, MANIFEST_NAME), encoding="utf-8") as f:
            return json.load(f)
    with opener(posixpath.join(str(output_dir), MANIFEST_NAME)) as f:
        return json.loads(f.read().decode("utf-8"))


def summary_table(manifest: dict) -> str:
    """Per-source counts as an aligned text table (what the CLI prints at the end of a run)."""
    header = ["source", "read", "created", "written", "rejected", "duplicates", "balanced"]

    def row(name: str, e: dict) -> list[str]:
        numbers = [e["read"], e["created"], e["written"], e["rejected"], e["duplicates"]]
        return [name, *(f"{n:,}" for n in numbers), "yes" if e["balanced"] else "NO"]

    rows = [row(name, entry) for name, entry in sorted(manifest["sources"].items())]
    rows.append(row("total", {**manifest["totals"], "balanced": manifest["balanced"]}))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows[:-1]), rule, line(rows[-1])])


def top_reason(entry: dict) -> tuple[str, str, int] | None:
    """The most frequent (stage, reason, rows) of a manifest source entry's rejections."""
    reasons = [(n, stage, reason) for stage, by_reason in entry.get("rejected_by_stage", {}).items() for reason, n in by_reason.items()]
    if not reasons:
        return None
    n, stage, reason = max(reasons, key=lambda r: (r[0], r[1], r[2]))
    return stage, reason, n


def rejection_findings(manifest: dict, max_rejected_fraction: float | None = None) -> tuple[list[str], list[str]]:
    """What a finished run's manifest says a user must look at, per source: (warnings,
    failures). Warned: a source that gave no rows, and one whose every row was rejected (a
    wrong field name or format looks like that), with its top reason. Failed: a source whose
    rejected fraction of rows read exceeds ``max_rejected_fraction``."""
    warnings, failures = [], []
    for name, entry in sorted(manifest.get("sources", {}).items()):
        read, rejected = entry.get("read", 0), entry.get("rejected", 0)
        top = top_reason(entry)
        because = f" (top reason: {top[1]} at {top[0]}, {top[2]:,} rows)" if top else ""
        if read == 0:
            files = entry.get("files")
            what = f"its {files:,} files are empty" if files and files > 1 else "its file is empty" if files == 1 else "empty files?"
            warnings.append(f"source {name}: no rows were read ({what})")
        elif rejected >= read and entry.get("written", 0) == 0:
            warnings.append(f"source {name}: all {read:,} rows were rejected{because}; check the input's format and options")
        if max_rejected_fraction is not None and read and rejected / read > max_rejected_fraction:
            failures.append(
                f"source {name}: {rejected:,} of {read:,} rows rejected ({rejected / read:.1%}), above max_rejected_fraction "
                f"{max_rejected_fraction:g}{because}"
            )
    return warnings, failures
