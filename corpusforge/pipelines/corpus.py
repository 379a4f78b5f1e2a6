"""The corpus job: read every input, run the recipe's stages, deduplicate, write sharded
Parquet (``segment/``, ``bitext/``, ``rejected/``) and ``_manifest.json``. Stages that derive
records (translation, transliteration pairs) add them to a later kind's records.

``build(p, recipe)`` adds the job to a pipeline (tests call it); ``main(argv)`` runs it.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from corpusforge import __version__
from corpusforge.beam.dedup import DeduplicateExact
from corpusforge.beam.groups import GatherGroups
from corpusforge.beam.near_dedup import DeduplicateNear
from corpusforge.beam.outputs import write_atomically
from corpusforge.beam.read import ReadInputs, ReadSource
from corpusforge.beam.resume import LoadStaged, StageRows, WriteCompletion, fingerprints
from corpusforge.beam.stages import ApplyStage, ReportStatistics, SumTallies
from corpusforge.beam.write import WriteManifest, WriteShards
from corpusforge.config import ConfigError, Recipe
from corpusforge.dedup.near import CLUSTER_SIZE, NearDedupParams
from corpusforge.io.shards import ShardMetadata
from corpusforge.manifest import stage_models
from corpusforge.outputs import CORPUS_LAYOUT, WORK_DIR, LocalStore, OutputDirectory, RunLock, is_url
from corpusforge.resume import REJECTED, RUN_RECORD, ResumePlan, plan_resume, run_record
from corpusforge.schemas import conform, extend, load_schema, schema_id
from corpusforge.transforms.dedup import Kind

KINDS_IN_ORDER: tuple[Kind, ...] = ("segment", "bitext", "codeswitch")  # derived records flow from earlier kinds to later ones


def derive_fields(recipe: Recipe, kind: str) -> list:
    """Columns that deriving stages (translation, transliteration pairs) give records of ``kind``."""
    return [f for stage in recipe.stages if stage.derives == kind for f in stage.output_fields(kind)]


def gathered_schema(recipe: Recipe, kind: str):
    """Schema every batch of ``kind`` is conformed to before its stages run: read and derived
    records then share one layout, whatever produced them."""
    return extend(load_schema(kind), derive_fields(recipe, kind))


def near_dedup_params(recipe: Recipe) -> NearDedupParams | None:
    """The recipe's near-dedup parameters, or None when it has no ``near_dedup``."""
    spec = recipe.spec.near_dedup
    return None if spec is None else NearDedupParams(**spec.model_dump(exclude={"partitions"}))


def output_schema(recipe: Recipe, kind: str):
    """Base schema plus the columns the recipe's stages declare for ``kind`` (and near-dedup's
    ``dup_cluster_size``), fixed before the run."""
    fields = [f for stage in recipe.stages_for(kind) if not stage.derives for f in stage.output_fields(kind)]
    near = near_dedup_params(recipe)
    return extend(gathered_schema(recipe, kind), fields + ([CLUSTER_SIZE] if near and near.applies_to(kind) else []))


class _Run:
    """What the job collects while it is built: rejected rows, tallies, shards, manifest sections."""

    rejected: list[beam.PCollection]
    tallies: list[beam.PCollection]
    shards: dict[str, beam.PCollection]
    sections: dict[str, beam.PCollection]
    derived: dict[str, list[tuple[int, beam.PCollection]]]

    def __init__(self, p: beam.Pipeline, recipe: Recipe, resume: ResumePlan | None = None):
        self.p, self.recipe = p, recipe
        self.rejected, self.tallies, self.shards, self.sections = [], [], {}, {}
        # --resume (corpusforge.resume): rows are staged per input before deduplication; a
        # resumed run loads the completed inputs' staged rows instead of reading them again
        self.resume = resume
        self.work_dir = f"{recipe.output_dir}/{WORK_DIR}" if resumable(recipe) else None
        self.staged: list[beam.PCollection] = []
        self.dedup_tallies: list[beam.PCollection] = []
        self.unstaged_rejected: list[beam.PCollection] = []  # rejected rows found after the staging point (near-dedup)
        self.cleanup: list[str] = [self.work_dir] if self.work_dir else []  # folders removed with the manifest
        self.derived = {kind: [] for kind in KINDS_IN_ORDER}
        self.stages = [s.describe() for s in recipe.stages]
        self.models = stage_models(self.stages)

    def metadata(self, kind: str) -> ShardMetadata:
        return ShardMetadata(
            schema=schema_id(kind),
            recipe_hash=self.recipe.recipe_hash,
            stages=tuple(self.stages),
            models=self.models,
        )

    def apply(self, records, stage, index: int, kind: str):
        """Run one stage (the adapter knows how, from ``stage.execution``); returns the records
        that go on to the next stage. The sections a stage reports join the manifest."""
        out = records | f"{kind}/{index}:{stage.name}" >> ApplyStage(stage, kind=kind)
        self.rejected.append(out.rejected)
        self.tallies.append(out.counts)
        self.sections.update(out.reports)
        if stage.derives:
            self.derived[stage.derives].append((index, out.kept))
            return records
        grouped = stage.grouped_output()
        if grouped is not None:  # rows about groups of the kept records (multiway/: one per tuple)
            rows = out.kept | f"{kind}/{index}:Groups" >> GatherGroups(grouped)
            self.write(grouped.name, rows, grouped.schema, partition=False)
        return out.kept

    def kind(self, kind: Kind) -> None:
        """Read the inputs of ``kind`` and run its stages in recipe order. Records a stage
        derives join this kind's records after that stage, so they meet only later stages."""
        recipe = self.recipe
        schema = gathered_schema(recipe, kind)
        joining = list(self.derived[kind])
        skipped = self.resume.completed if self.resume is not None else {}
        inputs = [ReadSource(i.name, i.reader, i.patterns) for i in recipe.inputs if i.kind == kind and i.name not in skipped]
        if inputs:
            read = self.p | f"Read[{kind}]" >> ReadInputs(inputs)
            self.rejected.append(read.rejected)
            self.tallies.append(read.counts)
            kept = read.kept | f"Rebalance[{kind}]" >> beam.Reshuffle() if recipe.spec.rebalance else read.kept
            joining.insert(0, (-1, kept))
        if not joining and not (self.resume and self.resume.staged(kind)):
            return
        records, deduplicated = None, False
        for index, stage in [*enumerate(recipe.stages), (len(recipe.stages), None)]:
            arriving = [(i, pcoll) for i, pcoll in joining if i < index]
            if arriving:
                joining = [(i, pcoll) for i, pcoll in joining if i >= index]
                records = self.join(kind, index, records, [pcoll for _, pcoll in arriving], schema)
            if stage is not None and records is not None and kind in stage.kinds:
                if stage.unique_input and not deduplicated:
                    records, deduplicated = self.dedup(kind, records), True  # e.g. sample unique rows; keep its copies
                records = self.apply(records, stage, index, kind)
        records = self.stage(kind, records)
        if not deduplicated:
            records = self.dedup(kind, records)
        reports: dict[str, Callable[[], Any]] = {}
        for stage in recipe.stages_for(kind):
            for name, factory in stage.written_reports(kind).items():
                reports.setdefault(name, factory)
        for name, factory in reports.items():  # e.g. "languages" after sampling: what was written
            self.sections[name] = records | f"Report[{kind}:{name}]" >> ReportStatistics(factory)
        self.write(kind, records, output_schema(recipe, kind), partition=True)

    def dedup(self, kind: Kind, records):
        """Exact dedup, then near-dedup when the recipe asks. It runs after the stages, or just
        before byte-budget sampling, so that the mixture is drawn from unique rows and its
        up-sampled copies are not removed again."""
        spill = f"{self.recipe.output_dir}/{kind}/.tmp-dedup-{uuid.uuid4().hex}"  # removed with the manifest
        self.cleanup.append(spill)
        out = records | f"Dedup[{kind}]" >> DeduplicateExact(kind=kind, scope=self.recipe.spec.dedup.scope, temp_dir=spill)
        self.dedup_tallies.append(out.counts)
        near = near_dedup_params(self.recipe)
        if near is None or not near.applies_to(kind):
            return out.unique
        partitions = self.recipe.spec.near_dedup.partitions if self.recipe.spec.near_dedup else 16
        near_out = out.unique | f"NearDedup[{kind}]" >> DeduplicateNear(near, kind, partitions=partitions)
        # computed after the staging point, over all inputs again on a resumed run: never staged
        self.unstaged_rejected.append(near_out.rejected)
        self.dedup_tallies.append(near_out.counts)
        return near_out.unique

    def stage(self, label: str, records):
        """The staging point of ``--resume``: stage ``records`` per input, then add the staged
        rows of the inputs a resumed run skips."""
        if self.work_dir is not None and records is not None:
            self.staged.append(records | f"Stage[{label}]" >> StageRows(self.work_dir, label))
        paths = self.resume.staged(label) if self.resume is not None else []
        if not paths:
            return records
        loaded = self.p | f"Staged[{label}]" >> LoadStaged(paths)
        return loaded if records is None else [records, loaded] | f"WithStaged[{label}]" >> beam.Flatten()

    def join(self, kind: str, index: int, records, arriving: list, schema):
        """Conform arriving record batches to the kind's schema and merge them into ``records``.
        (A merge of several producers makes the local runner buffer them: reads are one step.)"""
        conformed = [pcoll | f"Conform[{kind}@{index}.{n}]" >> beam.Map(_conform, schema) for n, pcoll in enumerate(arriving)]
        parts = ([records] if records is not None else []) + conformed
        return parts[0] if len(parts) == 1 else parts | f"Join[{kind}@{index}]" >> beam.Flatten()

    def write(self, kind: str, batches, schema, *, partition: bool) -> None:
        out = self.recipe.spec.output
        self.shards[kind] = batches | f"Write[{kind}]" >> WriteShards(
            f"{self.recipe.output_dir}/{kind}",
            schema=schema,
            metadata=self.metadata(kind),
            shard_count=out.shard_count,
            target_shard_bytes=out.target_shard_bytes,
            partition_by=out.partition_by if partition and out.partition_by in schema.names else None,
        )

    def finish(self) -> None:
        gathered = self.rejected | "GatherRejected" >> beam.Flatten() if self.rejected else self.p | "NoRejected" >> beam.Create([])
        rejected = self.stage(REJECTED, gathered)
        if self.unstaged_rejected:
            rejected = [rejected, *self.unstaged_rejected] | "WithUnstagedRejected" >> beam.Flatten()
        self.write("rejected", rejected, load_schema("rejected"), partition=False)
        # the counts up to the staging point (a resumed run that redoes nothing has none)
        counts = self.tallies | "GatherCounts" >> beam.Flatten() if self.tallies else self.p | "NoCounts" >> beam.Create([])
        after = []
        if self.work_dir is not None:
            inputs = {i.name: list(i.patterns) for i in self.recipe.inputs}
            after.append(counts | "Completion" >> WriteCompletion(self.work_dir, fingerprints(inputs), staged=self.staged))
        restored = []
        if self.resume is not None:
            restored = [self.p | "StagedCounts" >> beam.Create([done.tally for done in self.resume.completed.values()])]
            self.sections["resumed"] = self.p | "Resumed" >> beam.Create([self.resume.section()])
        tally = [counts, *restored, *self.dedup_tallies] | "AllCounts" >> beam.Flatten() | "Account" >> SumTallies()
        _ = self.p | "Manifest" >> WriteManifest(
            self.recipe.output_dir,
            config=self.recipe.as_dict(),
            recipe_hash=self.recipe.recipe_hash,
            outputs=self.shards,
            tally=tally,
            stages=self.stages,
            models=self.models,
            sections={**self.sections, "run": self.p | "RunInfo" >> beam.Create([run_info(self.p)])},
            lock_token=RunLock.token(self.recipe.output_dir),  # set when prepare_output claimed the directory
            after=after,
            cleanup=self.cleanup,
        )


def run_info(p: beam.Pipeline) -> dict:
    """The manifest's ``run`` section: the runner and when the pipeline was built (the
    manifest's ``created_at`` is when it ended)."""
    runner = p.options.view_as(StandardOptions).runner or "DirectRunner"
    started = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {"runner": runner if isinstance(runner, str) else type(runner).__name__, "started_at": started}


def _conform(batch, schema):
    return conform(batch, schema).combine_chunks().to_batches()[0] if batch.num_rows else batch


def resumable(recipe: Recipe) -> bool:
    """Whether a run of ``recipe`` can be resumed: its rows are staged per input before
    deduplication, which needs every stage to decide row by row (a global stage, such as
    byte-budget sampling, decides from all inputs at once)."""
    return recipe.spec.output.resumable and not any(stage.execution == "global" or stage.unique_input for stage in recipe.stages)


def build(p: beam.Pipeline, recipe: Recipe, resume: ResumePlan | None = None) -> None:
    """Add the corpus job for ``recipe`` to ``p``: every kind in order (segment records may
    derive bitext records), then the rejected output and the manifest. ``resume``
    (:func:`prepare_output` with ``resume``) takes the completed inputs' staged rows."""
    run = _Run(p, recipe, resume)
    for kind in KINDS_IN_ORDER:
        run.kind(kind)
    run.finish()


def _output(recipe: Recipe):
    from corpusforge.beam.outputs import BeamStore

    protected = [p for i in recipe.inputs for p in i.patterns] + ([recipe.recipe_path] if recipe.recipe_path else [])
    directory = OutputDirectory(path=recipe.output_dir, layout=CORPUS_LAYOUT, protected=protected)
    return directory, BeamStore() if is_url(recipe.output_dir) else LocalStore()


def prepare_output(recipe: Recipe, *, resume: bool = False) -> ResumePlan | None:
    """Check the output directory before the run (see :mod:`corpusforge.outputs`): a new or
    empty one is used, with ``output.overwrite`` an earlier corpusforge output is cleared of its
    own files; anything else, or an output that holds the recipe or an input, is a ConfigError.
    ``resume``: the killed run there is continued (:mod:`corpusforge.resume`); returns its plan."""
    directory, store = _output(recipe)
    if resume:
        if not recipe.spec.output.resumable:
            raise ConfigError(
                "--resume: the recipe sets output.resumable: false, so its runs stage no rows to resume from; run without --resume"
            )
        if not resumable(recipe):
            raise ConfigError(
                "--resume: this recipe has a global stage (it decides from all inputs at once), so no input's rows can be reused; run without --resume"
            )
        inputs = {i.name: list(i.patterns) for i in recipe.inputs}
        plan = plan_resume(
            directory.path,
            recipe_hash=recipe.recipe_hash,
            inputs=list(inputs),
            fingerprints=fingerprints(inputs),
            read=store.read,
            listing=lambda folder: [f"{folder}/{e.path}" for e in store.entries(folder) if not e.is_dir],
        )
        directory.prepare(store, overwrite=True, keep=WORK_DIR)
        return plan
    directory.prepare(store, overwrite=recipe.spec.output.overwrite)
    return None


def record_run(recipe: Recipe) -> None:
    """Write the run record a later ``--resume`` checks (the recipe's hash, who ran it, when)."""
    if not resumable(recipe):
        return
    directory, _ = _output(recipe)
    lock = RunLock.held(directory.path)
    info = lock.info if lock is not None else {}
    record = run_record(recipe.recipe_hash, info.get("started_at", ""), info.get("host", ""), info.get("pid", os.getpid()), __version__)
    write_atomically(f"{directory.path}/{WORK_DIR}/{RUN_RECORD}", record, "application/json")


def output_state(recipe: Recipe) -> tuple[bool, str]:
    """Whether a run could write its output directory as it stands, and what it would do
    there, without changing anything (``corpusforge validate``)."""
    directory, store = _output(recipe)
    overwrite = recipe.spec.output.overwrite
    try:
        directory.check_location(overwrite=overwrite)
        marker = store.read(f"{directory.path}/{directory.layout.marker}") if directory.layout.marker else None
        plan = directory.plan(store.entries(directory.path), marker, overwrite=overwrite)
    except ConfigError as exc:
        return False, f"the run would refuse it: {exc}"
    if plan is None:
        return True, "new or empty"
    kept = f"; {len(plan.kept)} entries corpusforge did not write stay" if plan.kept else ""
    return True, f"an earlier corpusforge output: its {len(plan.files)} files will be replaced{kept}"


def run(recipe: Recipe, beam_args: list[str] | None = None, resume: ResumePlan | None = None) -> None:
    """Run the job and wait for it; raise when the runner reports failure."""
    options = PipelineOptions(beam_args or ["--runner=DirectRunner"])
    with beam.Pipeline(options=options) as p:
        build(p, recipe, resume)


def run_recipe(recipe: Recipe, beam_args: list[str], *, verbose: bool = False, progress: bool = True, resume: bool = False) -> int:
    """Run the corpus job as a command does: check and prepare the output, run with a progress
    display (``progress``) and Beam's logs in a temporary log file kept only when the run fails
    (all on stderr when ``verbose``), then print the counts; the exit status (0, or 1 for a
    failed run, an unbalanced manifest or too many rejected rows). ``resume`` continues the
    killed run in the output directory (``--resume``)."""
    from corpusforge.beam.jobs import report_run, run_attended

    plan = prepare_output(recipe, resume=resume)
    if plan is None:
        record_run(recipe)
    else:
        print(
            f"resuming the run of {plan.previous.get('started_at', '?')}: {len(plan.completed)} inputs staged, "
            f"{len(plan.redone)} to redo" + (f" ({len(plan.stale)} changed since)" if plan.stale else ""),
            file=sys.stderr,
        )
    print(f"corpusforge {__version__}: recipe {recipe.spec.name} ({recipe.recipe_hash}) -> {recipe.output_dir}", file=sys.stderr)
    started = time.monotonic()
    patterns = [p for i in recipe.inputs for p in i.patterns]
    if not run_attended(recipe.output_dir, lambda: run(recipe, beam_args, plan), patterns=patterns, verbose=verbose, progress=progress):
        return 1
    return report_run(recipe.output_dir, started, max_rejected_fraction=recipe.spec.max_rejected_fraction)


def main(argv: list[str] | None = None) -> int:
    """``python -m corpusforge.pipelines.corpus RECIPE [--set k=v] [beam options]``: what
    ``corpusforge run`` does (the command adds runner files by name, ``--output``, ``-v``)."""
    from corpusforge.beam.jobs import job_arguments
    from corpusforge.config import load_recipe
    from corpusforge.runners import DEFAULT_ARGS

    args, beam_args = job_arguments("corpusforge.pipelines.corpus", main.__doc__, argv)
    try:
        recipe = load_recipe(args.config, args.set)
        return run_recipe(recipe, beam_args or list(DEFAULT_ARGS))
    except ConfigError as exc:
        print(f"corpusforge: configuration error:\n{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
