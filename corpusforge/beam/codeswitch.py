"""Beam pieces for code-switch synthesis: build a Parquet entity lexicon from Wikidata dumps
(:class:`BuildEntityLexicon`) and apply a switching stage to segment batches
(:class:`SwitchSegments`), optionally with a lexicon built in the same pipeline.

A dump is one compressed stream (bz2/gz are not split), so one worker decompresses each file
and cuts it into line chunks; the chunks are reshuffled so JSON parsing, the expensive part,
spreads over all workers.
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam
import pyarrow as pa
from apache_beam import pvalue

from corpusforge.accounting import READ_STAGE, Tally
from corpusforge.beam.read import beam_open, expand_patterns
from corpusforge.beam.stages import COUNTS, REJECTED, ApplyStage, emit_split
from corpusforge.beam.write import WriteShards
from corpusforge.codeswitch.lexicon import LEXICON_SCHEMA, LEXICON_SCHEMA_ID, EntityLexicon
from corpusforge.io.lexicons import WikidataDumpReader
from corpusforge.io.shards import ShardMetadata
from corpusforge.records import Split
from corpusforge.transforms.codeswitch import EntitySwitchStage, SwitchStage


class LexiconOutputs(NamedTuple):
    lexicon: beam.PCollection  # LEXICON_SCHEMA RecordBatches
    rejected: beam.PCollection  # rejected.v1 RecordBatches (kind "lexicon")
    counts: beam.PCollection  # Tallies: read, out, rejected, filtered per source


class LexiconBuild(NamedTuple):
    lexicon: beam.PCollection
    rejected: beam.PCollection
    counts: beam.PCollection
    shards: beam.PCollection  # ShardInfos of the Parquet lexicon


class SwitchOutputs(NamedTuple):
    records: beam.PCollection  # codeswitch.v1 RecordBatches
    rejected: beam.PCollection
    counts: beam.PCollection  # Tallies: created, rejected


class _ChunkDumpFn(beam.DoFn):
    def __init__(self, reader: WikidataDumpReader, source: str):
        self._reader = reader
        self._source = source

    def process(self, file):
        path, file_key = file
        yield from self._reader.chunks(path, source=self._source, file_key=file_key, opener=beam_open)


class _ParseChunkFn(beam.DoFn):
    def __init__(self, reader: WikidataDumpReader):
        self._reader = reader

    def process(self, chunk):
        split, filtered = self._reader.parse(chunk)
        tally = Tally.of_split(READ_STAGE, split)
        tally.add(READ_STAGE, chunk.source, "filtered", filtered)
        tally.add(READ_STAGE, chunk.source, "read", split.kept.num_rows + split.rejected.num_rows + filtered)
        yield from emit_split(split, tally)


class ReadWikidataDump(beam.PTransform):
    """Wikidata JSON dumps matching ``patterns`` -> lexicon batches, rejected lines, tallies
    (apply to the pipeline root). ``reader`` sets languages and filters."""

    def __init__(self, reader: WikidataDumpReader, patterns: list[str], *, source: str = "wikidata"):
        super().__init__(label=f"ReadWikidata[{source}]")
        if not patterns:
            raise ValueError("name at least one dump file pattern")
        self._reader = reader
        self._patterns = list(patterns)
        self._source = source

    def expand(self, pbegin):
        outputs = (
            pbegin
            | "Patterns" >> beam.Create([self._patterns])
            | "Match" >> beam.FlatMap(expand_patterns)
            | "SpreadFiles" >> beam.Reshuffle()
            | "Chunk" >> beam.ParDo(_ChunkDumpFn(self._reader, self._source))
            | "SpreadChunks" >> beam.Reshuffle()
            | "Parse" >> beam.ParDo(_ParseChunkFn(self._reader)).with_outputs(REJECTED, COUNTS, main="lexicon")
        )
        return LexiconOutputs(outputs.lexicon, outputs[REJECTED], outputs[COUNTS])


class BuildEntityLexicon(beam.PTransform):
    """Read Wikidata dumps and write the lexicon as Parquet shards (``lexicon.v1``,
    :data:`~corpusforge.codeswitch.lexicon.LEXICON_SCHEMA`) under ``output_dir``; the batches,
    rejected rows and tallies come back too, so the same pipeline can switch with them.
    ``shard_count`` gives byte-identical shards across runs (see ``WriteShards``)."""

    def __init__(
        self,
        reader: WikidataDumpReader,
        patterns: list[str],
        output_dir: str,
        *,
        source: str = "wikidata",
        recipe_hash: str = "",
        shard_count: int | None = None,
    ):
        super().__init__(label=f"BuildLexicon[{source}]")
        self._read = ReadWikidataDump(reader, patterns, source=source)
        self._write = WriteShards(
            output_dir,
            schema=LEXICON_SCHEMA,
            metadata=ShardMetadata(
                schema=LEXICON_SCHEMA_ID,
                recipe_hash=recipe_hash,
                stages=(
                    {
                        "name": "wikidata_lexicon",
                        "languages": sorted(reader.languages or []),
                        "aliases": reader.aliases,
                        "require_enwiki": reader.require_enwiki,
                    },
                ),
            ),
            shard_count=shard_count,
        )

    def expand(self, pbegin):
        read = pbegin | "Read" >> self._read
        shards = read.lexicon | "Write" >> self._write
        return LexiconBuild(read.lexicon, read.rejected, read.counts, shards)


class _SwitchWithLexiconFn(beam.DoFn):
    """Runs an entity-switching stage per batch with a lexicon side input: the first batch on
    each worker builds the switcher from it (held for the DoFn's life). Without a side input a
    switching stage runs through the one adapter, ``ApplyStage``."""

    def __init__(self, stage: EntitySwitchStage):
        self._stage = stage
        self._ready = False

    def process(self, batch, lexicon_batches):
        if not self._ready:
            table = pa.Table.from_batches(list(lexicon_batches), schema=LEXICON_SCHEMA)
            self._stage.use_lexicon(EntityLexicon.from_table(table, languages=self._stage.lexicon_languages, name="pipeline"))
            self._ready = True
        split: Split = self._stage.process(batch)
        yield from emit_split(split, self._stage.tally(split))


class SwitchSegments(beam.PTransform):
    """Apply a switching stage (:class:`EntitySwitchStage`, ``DictionarySwitchStage``) to
    segment batches -> ``SwitchOutputs(records, rejected, counts)``; counts are ``created``
    rows, so the manifest balances. ``lexicon``: a PCollection of lexicon batches (e.g.
    ``BuildEntityLexicon(...).lexicon``) to switch with instead of the stage's own lexicon; it
    reaches every worker whole as a side input, so keep it to the languages switched."""

    def __init__(self, stage: SwitchStage, *, lexicon: beam.PCollection | None = None):
        super().__init__(label=f"Switch[{stage.name}]")
        if lexicon is not None and not isinstance(stage, EntitySwitchStage):
            raise ValueError(f"a lexicon side input needs an EntitySwitchStage, not {type(stage).__name__}")
        self._stage = stage
        self._lexicon = lexicon

    def expand(self, batches):
        stage = self._stage
        if self._lexicon is None:  # shared set-up and the dead-letter path, as every stage gets them
            applied = batches | "Switch" >> ApplyStage(stage, kind="segment")
            return SwitchOutputs(applied.kept, applied.rejected, applied.counts)
        assert isinstance(stage, EntitySwitchStage)  # checked in __init__
        fn = _SwitchWithLexiconFn(stage)
        outputs = batches | "Switch" >> beam.ParDo(fn, pvalue.AsList(self._lexicon)).with_outputs(REJECTED, COUNTS, main="records")
        return SwitchOutputs(outputs.records, outputs[REJECTED], outputs[COUNTS])
