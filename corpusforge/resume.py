"""What ``corpusforge run --resume`` continues from: the work folder a run keeps in its output
directory until its manifest is written, and the per-input completion records in it.

A run stages, per input (``source``), the records of each kind as they stand after every
stage, just before deduplication, the rejected rows and the input's counts, under
``<output>/.resume/``; once all of an input's rows are staged, its completion record
``.resume/done/<n>.json`` (the staged files, the counts, the input files' sizes and mtimes) is
written atomically (a temp file, then a rename). Deduplication, the writes and the manifest
then run over everything. A resumed run reads a completed input's staged rows instead of its
files and redoes the others; since what follows is deterministic, the output (byte-identical
shards with ``shard_count``) and the manifest are an uninterrupted run's, plus a ``resumed``
section. The work folder is removed with the manifest, the run's last write.

Runner-free: the JSON records and the plan; ``corpusforge.beam.resume`` does the staging.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from corpusforge.accounting import Tally
from corpusforge.config import ConfigError
from corpusforge.outputs import WORK_DIR

RUN_RECORD = "run.json"
DONE_DIR = "done"
REJECTED = "rejected"  # the staged rejected rows' label, beside the record kinds

Fingerprint = list[list]  # [[path, size, mtime], ...] of an input's files


def tally_rows(tally: Tally) -> list[list]:
    """A tally as JSON rows ``[stage, source, outcome, n]``, sorted."""
    return sorted([stage, source, outcome, n] for (stage, source, outcome), n in tally.counts.items())


def tally_of(rows: Iterable[list]) -> Tally:
    tally = Tally()
    for stage, source, outcome, n in rows:
        tally.add(stage, source, outcome, n)
    return tally


def done_record(source: str, files: dict[str, list[str]], tally: Tally, fingerprint: Fingerprint) -> bytes:
    """The completion record of one input: its staged files by label (kinds, ``rejected``),
    relative to the work folder, its counts and its files' fingerprint."""
    record = {
        "source": source,
        "files": {label: sorted(paths) for label, paths in sorted(files.items())},
        "tally": tally_rows(tally),
        "fingerprint": fingerprint,
    }
    return json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Completed:
    """One input whose rows a killed run staged completely."""

    source: str
    files: dict[str, list[str]]
    tally: Tally


@dataclass
class ResumePlan:
    """What a resumed run takes from the work folder (``completed``) and redoes (``redone``),
    and the run it continues (``previous``: the run record of the run that began the work)."""

    work_dir: str
    previous: dict = field(default_factory=dict)
    completed: dict[str, Completed] = field(default_factory=dict)
    redone: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # completed, but their files changed since

    def staged(self, label: str) -> list[str]:
        """The staged files of ``label`` (a kind, or ``rejected``) of every completed input."""
        return sorted(f"{self.work_dir}/{path}" for done in self.completed.values() for path in done.files.get(label, []))

    def section(self) -> dict:
        """The manifest's ``resumed`` section."""
        return {
            "from_run": {k: self.previous.get(k) for k in ("started_at", "corpusforge_version", "host", "pid")},
            "skipped_inputs": sorted(self.completed),
            "redone_inputs": sorted(self.redone),
            "changed_inputs": sorted(self.stale),
        }


def run_record(recipe_hash: str, started_at: str, host: str, pid: int, version: str) -> bytes:
    return json.dumps(
        {"recipe_hash": recipe_hash, "started_at": started_at, "host": host, "pid": pid, "corpusforge_version": version}, sort_keys=True
    ).encode("utf-8")


def plan_resume(
    output_dir: str,
    *,
    recipe_hash: str,
    inputs: list[str],
    fingerprints: dict[str, Fingerprint],
    read: Callable[[str], bytes | None],
    listing: Callable[[str], list[str]],
) -> ResumePlan:
    """The plan for resuming the killed run in ``output_dir``: a ConfigError when there is no
    such run or it ran another recipe. ``read(path)`` gives a file's bytes (None if absent),
    ``listing(folder)`` the completion records' paths; an input counts as completed when its
    record parses and its files are those it read (path, size, mtime)."""
    work = f"{output_dir}/{WORK_DIR}"
    raw = read(f"{work}/{RUN_RECORD}")
    if raw is None:
        raise ConfigError(
            f"--resume: {output_dir} holds no interrupted corpusforge run ({WORK_DIR}/{RUN_RECORD} is missing); run without --resume"
        )
    try:
        previous = json.loads(raw)
    except ValueError:
        raise ConfigError(f"--resume: {work}/{RUN_RECORD} is not a corpusforge run record; run without --resume") from None
    if previous.get("recipe_hash") != recipe_hash:
        raise ConfigError(
            f"--resume: the interrupted run in {output_dir} ran another recipe (hash {previous.get('recipe_hash')}, now {recipe_hash}); "
            "its staged rows cannot be reused: run without --resume (with output.overwrite: true)"
        )
    plan = ResumePlan(work_dir=work, previous=previous)
    for path in sorted(listing(f"{work}/{DONE_DIR}")):
        if not path.endswith(".json"):
            continue
        try:
            record = json.loads(read(path) or b"")
            done = Completed(record["source"], {k: list(v) for k, v in record["files"].items()}, tally_of(record["tally"]))
        except (ValueError, KeyError, TypeError):
            continue  # a damaged record: the input is redone
        if done.source not in inputs:
            continue
        if record.get("fingerprint") != fingerprints.get(done.source):
            plan.stale.append(done.source)
            continue
        plan.completed[done.source] = done
    plan.redone = [name for name in inputs if name not in plan.completed]
    return plan
