"""The corpus job: read every input, run the recipe's stages, deduplicate, write sharded
Parquet (``segment/``, ``bitext/``, ``rejected/``) and ``_manifest.json``.

``build(p, recipe)`` adds the job to a pipeline (tests call it); ``main(argv)`` runs it.
"""

from __future__ import annotations

import argparse
import logging
import sys

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from corpusforge import __version__
from corpusforge.beam.dedup import DeduplicateExact
from corpusforge.beam.read import ReadRecords
from corpusforge.beam.stages import ApplyStage, SumTallies
from corpusforge.beam.write import WriteManifest, WriteShards
from corpusforge.config import ConfigError, Recipe, load_recipe
from corpusforge.io.parquet import ShardMetadata
from corpusforge.schemas import extend, load_schema, schema_id

OUTPUT_DIRS = {"segment": "segment", "bitext": "bitext", "rejected": "rejected"}


def output_schema(recipe: Recipe, kind: str):
    """Base schema plus the columns the recipe's stages declare for ``kind``, fixed before the run."""
    fields = [f for stage in recipe.stages_for(kind) for f in stage.output_fields(kind)]
    return extend(load_schema(kind), fields)


def build(p: beam.Pipeline, recipe: Recipe) -> None:
    """Add the corpus job for ``recipe`` to ``p``."""
    out = recipe.spec.output
    stages = [s.describe() for s in recipe.stages]
    tallies, rejected, shards = [], [], {}
    for kind in recipe.kinds:
        reads = []
        for inp in (i for i in recipe.inputs if i.kind == kind):
            read = p | f"Read[{inp.name}]" >> ReadRecords(inp.reader, inp.patterns, source=inp.name)
            reads.append(read.kept)
            rejected.append(read.rejected)
            tallies.append(read.counts)
        records = reads | f"Gather[{kind}]" >> beam.Flatten()
        for stage in recipe.stages_for(kind):
            result = records | f"{kind}/{stage.name}" >> ApplyStage(stage)
            records = result.kept
            rejected.append(result.rejected)
            tallies.append(result.counts)
        dedup = records | f"Dedup[{kind}]" >> DeduplicateExact(kind=kind, scope=recipe.spec.dedup.scope)
        tallies.append(dedup.counts)
        schema = output_schema(recipe, kind)
        shards[OUTPUT_DIRS[kind]] = dedup.unique | f"Write[{kind}]" >> WriteShards(
            f"{recipe.output_dir}/{OUTPUT_DIRS[kind]}",
            schema=schema,
            metadata=ShardMetadata(
                schema=schema_id(kind), recipe_hash=recipe.recipe_hash, stages=stages, models={}
            ),
            shard_count=out.shard_count,
            target_shard_bytes=out.target_shard_bytes,
            partition_by=out.partition_by if out.partition_by in schema.names else None,
        )
    shards[OUTPUT_DIRS["rejected"]] = rejected | "GatherRejected" >> beam.Flatten() | "WriteRejected" >> WriteShards(
        f"{recipe.output_dir}/{OUTPUT_DIRS['rejected']}",
        schema=load_schema("rejected"),
        metadata=ShardMetadata(schema=schema_id("rejected"), recipe_hash=recipe.recipe_hash, stages=stages, models={}),
        shard_count=out.shard_count,
        target_shard_bytes=out.target_shard_bytes,
    )
    tally = tallies | "GatherCounts" >> beam.Flatten() | "Account" >> SumTallies()
    _ = p | "Manifest" >> WriteManifest(
        recipe.output_dir,
        config=recipe.as_dict(),
        recipe_hash=recipe.recipe_hash,
        outputs=shards,
        tally=tally,
        stages=stages,
    )


def prepare_output(recipe: Recipe) -> None:
    """Refuse to mix runs in one output directory; with ``output.overwrite`` remove the old one first."""
    from apache_beam.io.filesystems import FileSystems

    path = recipe.output_dir
    if not FileSystems.exists(path) or not FileSystems.match([f"{path}/*"])[0].metadata_list:
        return
    if not recipe.spec.output.overwrite:
        raise ConfigError(f"output.path: {path} exists and is not empty; choose another path or set output.overwrite: true")
    FileSystems.delete([path])


def run(recipe: Recipe, beam_args: list[str] | None = None) -> None:
    """Run the job and wait for it; raise when the runner reports failure."""
    options = PipelineOptions(beam_args or ["--runner=DirectRunner"])
    with beam.Pipeline(options=options) as p:
        build(p, recipe)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="corpusforge.pipelines.corpus", description=__doc__)
    parser.add_argument("recipe")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args, beam_args = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    recipe = load_recipe(args.recipe, args.set)
    run(recipe, beam_args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
