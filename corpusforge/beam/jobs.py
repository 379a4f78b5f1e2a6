"""Command lines of the job modules and the end of every job: the counts from the manifest and
the exit status (translate-test, variants and ``corpusforge run`` share them)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from typing import TextIO

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from corpusforge.outputs import OutputDirectory
from corpusforge.runners import DEFAULT_ARGS


def job_arguments(prog: str, description: str | None, argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """Command line of a job module (``python -m corpusforge.pipelines.X CONFIG [--set k=v] [beam
    options]``): its arguments and the Beam options it passes through, spelled exactly as Beam
    spells them (no abbreviations); sets up logging."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("config", help="the job's YAML config")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key (dotted path, YAML value)")
    args, beam_args = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    return args, beam_args


def report_run(output_dir: str, started: float, *, max_rejected_fraction: float | None = None, err: TextIO | None = None) -> int:
    """Print a finished job's counts per source from its manifest, and warnings for sources that
    gave nothing; the exit status: 1 when the manifest does not balance (rows unaccounted for)
    or a source rejected more than ``max_rejected_fraction`` of its rows, else 0."""
    from corpusforge.beam.read import beam_open
    from corpusforge.manifest import load_manifest, rejection_findings, summary_table

    err = err or sys.stderr
    manifest = load_manifest(output_dir, beam_open)  # gs:// too
    print(summary_table(manifest))
    print(f"\nwrote {output_dir} in {time.monotonic() - started:.1f} s; manifest: {output_dir}/_manifest.json")
    warnings, failures = rejection_findings(manifest, max_rejected_fraction)
    for line in warnings:
        print(f"WARNING: {line}", file=err)
    status = 0
    for line in failures:
        print(f"ERROR: {line}", file=err)
        status = 1
    if not manifest["balanced"]:
        print("ERROR: the manifest does not balance (read + created != written + rejected + duplicates)", file=err)
        status = 1
    return status


def input_sizes(patterns: list[str]) -> dict[str, int]:
    """Bytes of every file the patterns match, on any Beam filesystem (compressed size for a
    compressed file): the total a run's progress display counts towards."""
    from apache_beam.io.filesystems import FileSystems

    sizes: dict[str, int] = {}
    for result in FileSystems.match(list(patterns)):
        for meta in result.metadata_list:
            sizes[meta.path] = meta.size_in_bytes
    return sizes


def run_job(prog: str, description: str | None, argv: list[str] | None, *, load_config: Callable, build: Callable) -> int:
    """The job's config from the command line, the job on the runner the Beam options name
    (DirectRunner by default), then the counts; the exit status of :func:`report_run`."""
    args, beam_args = job_arguments(prog, description, argv)
    cfg = load_config(args.config, args.set)
    OutputDirectory(path=cfg.output, where="output").check_location(overwrite=False)  # a file, or not writable: say so now
    started = time.monotonic()
    with beam.Pipeline(options=PipelineOptions(beam_args or list(DEFAULT_ARGS))) as p:
        build(p, cfg)
    return report_run(cfg.output, started)
