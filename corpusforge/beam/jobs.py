"""Command lines of the job modules and how every job runs as a command: the claim on its output
directory, Beam's logs out of the way, a failure as one line, then the counts from the manifest
and the exit status (translate-test, variants and ``corpusforge run`` share them)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import TextIO

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from corpusforge.config import ConfigError
from corpusforge.console import failure_line, setup_logging, worker_output_to
from corpusforge.outputs import CORPUS_LAYOUT, OutputDirectory, RunLock, is_url
from corpusforge.progress import PROGRESS_DIR_ENV, RunDisplay
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


def run_attended(
    output_dir: str,
    run: Callable[[], None],
    *,
    patterns: list[str],
    verbose: bool = False,
    progress: bool = True,
    reraise: tuple[type[Exception], ...] = (),
) -> bool:
    """Run ``run()`` (a pipeline, waited for) as a command does, once the output directory is
    claimed: a progress display of ``patterns``' bytes (``progress``), Beam's and its workers'
    logs in a temporary file kept only when the run fails (all on stderr when ``verbose``), a
    failure as one line naming that log. Whether the run succeeded; the claim on
    ``output_dir`` is given up however it ends (its lock file stays after a failure: the sign
    that the temp files there are a dead run's). Exceptions of the ``reraise`` types (a job's
    configuration errors found while building) propagate instead."""
    log_path: str | None = None
    failed = True
    previous = os.environ.get(PROGRESS_DIR_ENV)
    try:
        sizes = input_sizes(patterns) if progress else {}
        if not verbose:
            fd, log_path = tempfile.mkstemp(prefix="corpusforge-", suffix=".log")
            os.close(fd)
        with tempfile.TemporaryDirectory(prefix="corpusforge-progress-") as board_dir, worker_output_to(log_path) as err:
            setup_logging(verbose, err)
            os.environ[PROGRESS_DIR_ENV] = board_dir  # worker processes inherit it
            try:
                with RunDisplay(board_dir, sizes, stream=err, enabled=progress):
                    run()
                failed = False
            except reraise:
                raise
            except Exception as exc:  # a worker's error, re-raised by the runner: one line, the rest in the log
                if log_path is None:
                    raise
                with open(log_path, "a", encoding="utf-8") as log:
                    traceback.print_exc(file=log)
                print(f"corpusforge: {failure_line(exc, output_dir)}", file=err)
                print(f"full log: {log_path}", file=err)
                return False
    finally:
        if previous is None:
            os.environ.pop(PROGRESS_DIR_ENV, None)
        else:
            os.environ[PROGRESS_DIR_ENV] = previous
        if log_path and not failed:
            os.unlink(log_path)
        setup_logging(verbose, sys.stderr)
        RunLock.release_directory(output_dir, remove=not failed)
    return True


def run_job(prog: str, description: str | None, argv: list[str] | None, *, load_config: Callable, build: Callable) -> int:
    """The job's config from the command line, its output directory checked and claimed (the
    :class:`RunLock` the corpus job takes, so two runs cannot write one directory), the job on
    the runner the Beam options name (DirectRunner by default) with the corpus job's console
    (:func:`run_attended`; no progress display: these jobs' readers keep no byte count), then
    the counts; the exit status of :func:`report_run` (1 when the run failed)."""
    args, beam_args = job_arguments(prog, description, argv)
    cfg = load_config(args.config, args.set)
    directory = OutputDirectory(path=cfg.output, where="output")
    directory.check_location(overwrite=False)  # a file, or not writable: say so now
    if not is_url(directory.path) and CORPUS_LAYOUT.lock is not None:
        RunLock.acquire(directory.path, CORPUS_LAYOUT.lock, where="output")
    started = time.monotonic()

    def run() -> None:
        with beam.Pipeline(options=PipelineOptions(beam_args or list(DEFAULT_ARGS))) as p:
            build(p, cfg)

    if not run_attended(directory.path, run, patterns=[], progress=False, reraise=(ConfigError,)):
        return 1
    return report_run(cfg.output, started)
