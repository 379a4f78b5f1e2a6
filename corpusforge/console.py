"""What a job prints while it runs, for any command that starts one: our messages on stderr,
Beam's and its workers' logs out of the way unless asked for, failures as one line. No Beam
import."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
from collections.abc import Iterator
from typing import TextIO

# Beam warns at import that an optional GCP client is missing; it concerns no local run.
_NOISE = ("apitools not found",)


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not any(record.getMessage().startswith(text) for text in _NOISE)


def setup_logging(verbose: bool, stream: TextIO) -> None:
    """Our warnings (and with ``verbose`` everything, Beam's INFO included) on ``stream``;
    Beam's own warnings and errors only when ``verbose``: the run's summary and failure line say
    what a user needs.
    Calling it again replaces the handler it installed."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S"))
    handler.addFilter(_DropNoise())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_corpusforge", False):
            root.removeHandler(old)
    handler._corpusforge = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    # Beam logs a failing bundle's error with its traceback; the run's failure line says it in one
    # line and the run's log file keeps the traceback, so without ``verbose`` only CRITICAL shows.
    logging.getLogger("apache_beam").setLevel(logging.INFO if verbose else logging.CRITICAL)
    logging.getLogger("corpusforge").setLevel(logging.INFO if verbose else logging.WARNING)


@contextlib.contextmanager
def worker_output_to(log_path: str | None) -> Iterator[TextIO]:
    """While a run goes, send file descriptor 2 (where Beam's worker processes write) to
    ``log_path``; yields the stream our own messages go to (the real stderr). With None, or
    when stderr is not file descriptor 2 (a test's or notebook's captured stream), nothing is
    redirected."""
    try:
        real = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        real = False
    if log_path is None or not real:
        yield sys.stderr
        return
    sys.stderr.flush()
    saved = os.dup(2)
    ours = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace")
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 2)
    os.close(log)
    try:
        yield ours
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        ours.close()


def failure_line(exc: BaseException, output_dir: str) -> str:
    """One line for a failed run: a full disk says so, anything else its last message line
    (a worker's error arrives wrapped in the runner's, its own message last)."""
    text = str(exc).strip()
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left on device" in text:
        return f"the disk is full (writing under {output_dir}): free space or choose another output.path"
    lines = text.splitlines()
    return f"the run failed: {type(exc).__name__}: {lines[-1] if lines else ''}"
