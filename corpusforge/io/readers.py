"""Readers: input files -> Arrow batches of records plus rejected rows (the one entry point).

Every reader has ``read(path, *, source, file_key=None, opener=open_binary) -> Iterator[Split]``
and is runner-free; ``corpusforge.beam.read.ReadRecords`` runs one over file patterns in Beam.

| format | segment (monolingual) | bitext (parallel) |
| --- | --- | --- |
| text lines / documents | ``TextReader`` | ``MosesReader`` (two line-aligned files) |
| JSON Lines | ``JsonlReader`` | ``ParallelJsonlReader`` |
| TSV | ``TsvReader`` | ``ParallelTsvReader`` |
| Parquet | ``ParquetReader`` | ``ParallelParquetReader`` |
| TMX 1.4 | | ``TmxReader`` |
"""

from __future__ import annotations

from corpusforge.io.base import MIB, READ_STAGE, Reader
from corpusforge.io.compression import COMPRESSION_EXTENSIONS, Opener, open_binary, open_input
from corpusforge.io.jsonl import JsonlReader, ParallelJsonlReader
from corpusforge.io.moses import MosesReader
from corpusforge.io.parquet_in import ParallelParquetReader, ParquetReader
from corpusforge.io.text import TextReader
from corpusforge.io.tmx import TmxReader
from corpusforge.io.tsv import ParallelTsvReader, TsvReader

__all__ = [
    "COMPRESSION_EXTENSIONS",
    "MIB",
    "READ_STAGE",
    "JsonlReader",
    "MosesReader",
    "Opener",
    "ParallelJsonlReader",
    "ParallelParquetReader",
    "ParallelTsvReader",
    "ParquetReader",
    "Reader",
    "TextReader",
    "TmxReader",
    "TsvReader",
    "open_binary",
    "open_input",
]
