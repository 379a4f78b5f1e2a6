"""``main`` of the job modules that write a manifest (translate-test, variants)."""

from __future__ import annotations

import time
from typing import Callable

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from corpusforge.cli import job_arguments, report_run
from corpusforge.outputs import OutputDirectory


def run_job(prog: str, description: str | None, argv: list[str] | None, *, load_config: Callable, build: Callable) -> int:
    """The job's config from the command line, the job on the runner the Beam options name
    (DirectRunner by default), then the counts; the exit status of
    :func:`corpusforge.cli.report_run` (1 when the manifest does not balance)."""
    args, beam_args = job_arguments(prog, description, argv)
    cfg = load_config(args.config, args.set)
    OutputDirectory(path=cfg.output, where="output").check_location(overwrite=False)  # a file, or not writable: say so now
    started = time.monotonic()
    with beam.Pipeline(options=PipelineOptions(beam_args or ["--runner=DirectRunner"])) as p:
        build(p, cfg)
    return report_run(cfg.output, started)
