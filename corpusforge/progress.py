"""Progress lines for long runs: running totals and a rate, logged at most every ~10 s.

One :class:`Progress` per file read or per worker process; it restarts when unpickled, so a
stage that carries one into a Beam worker reports that worker's own totals.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import BinaryIO

INTERVAL_SECONDS = 10.0


class Progress:
    """Totals of ``units`` (e.g. ``("rows", "MB")``) and the rate of ``units[-1]`` since the
    start, logged as ``label: 1,000 rows, 2.5 MB, 0.8 MB/s``. Costs one clock read per call."""

    def __init__(self, logger: logging.Logger, label: str, *, units: tuple[str, ...]):
        self._logger = logger
        self._label = label
        self._units = units
        self._restart()

    def _restart(self) -> None:
        self._start = self._last = time.monotonic()
        self._totals = [0.0] * len(self._units)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._restart()

    def add(self, *amounts: float) -> None:
        """Add one amount per unit; log the totals when ``INTERVAL_SECONDS`` have passed since
        the last line."""
        for i, amount in enumerate(amounts):
            self._totals[i] += amount
        now = time.monotonic()
        if now - self._last < INTERVAL_SECONDS:
            return
        self._last = now
        parts = [f"{_number(total)} {unit}" for total, unit in zip(self._totals, self._units)]
        rate = self._totals[-1] / max(now - self._start, 1e-9)
        self._logger.info("%s: %s, %s %s/s", self._label, ", ".join(parts), _number(rate), self._units[-1])


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.1f}"


# --- live progress of a local run ------------------------------------------------------------
# Workers (threads of this process, or worker processes the local runner starts) add to one
# board per process; each board writes its totals as a small JSON file into the folder that
# PROGRESS_DIR_ENV names, at most every FLUSH_SECONDS. The command that started the run sums
# the files for its display. Without the variable (a cluster's workers) the board does nothing.

PROGRESS_DIR_ENV = "CORPUSFORGE_PROGRESS_DIR"
FLUSH_SECONDS = 0.5


class ProgressBoard:
    """This process's running totals: raw input bytes read per file and rows out per stage.
    Thread-safe; one dictionary update per call, a file write at most every FLUSH_SECONDS."""

    def __init__(self, directory: str | None):
        self._directory = directory
        self._lock = threading.Lock()
        self._files: dict[str, int] = {}
        self._stages: dict[str, int] = {}
        self._last = 0.0

    @property
    def enabled(self) -> bool:
        return self._directory is not None

    def read_bytes(self, path: str, amount: int) -> None:
        if self._directory is not None:
            with self._lock:
                self._files[path] = self._files.get(path, 0) + amount
            self._maybe_flush()

    def stage_rows(self, stage: str, amount: int) -> None:
        if self._directory is not None:
            with self._lock:
                self._stages[stage] = self._stages.get(stage, 0) + amount
            self._maybe_flush()

    def _maybe_flush(self, force: bool = False) -> None:
        """Write this process's totals to its one file (named by pid: the totals are the whole
        process's, so one file per thread would count them once per thread)."""
        if not force and time.monotonic() - self._last < FLUSH_SECONDS:
            return
        assert self._directory is not None  # callers flush only an enabled board
        target = os.path.join(self._directory, f"{os.getpid()}.json")
        with self._lock:  # one writer at a time, so an older snapshot never replaces a newer one
            self._last = time.monotonic()
            try:
                with open(target + ".tmp", "w", encoding="utf-8") as f:
                    json.dump({"files": self._files, "stages": self._stages}, f)
                os.replace(target + ".tmp", target)
            except OSError:  # the display is a convenience: never fail a run over it
                pass

    def flush(self) -> None:
        if self._directory is not None:
            self._maybe_flush(force=True)


_BOARD: ProgressBoard | None = None
_BOARD_LOCK = threading.Lock()


def board() -> ProgressBoard:
    """This process's board (created on first use from the environment)."""
    global _BOARD
    if _BOARD is None or _BOARD._directory != os.environ.get(PROGRESS_DIR_ENV):
        with _BOARD_LOCK:
            if _BOARD is None or _BOARD._directory != os.environ.get(PROGRESS_DIR_ENV):
                _BOARD = ProgressBoard(os.environ.get(PROGRESS_DIR_ENV))
    return _BOARD


def read_boards(directory: str) -> tuple[dict[str, int], dict[str, int]]:
    """Totals over every board file in ``directory``: bytes read per file, rows per stage. A
    file is one process's running total, so totals are summed across files."""
    files: dict[str, int] = {}
    stages: dict[str, int] = {}
    for name in os.listdir(directory):
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                state = json.load(f)
        except (OSError, ValueError):
            continue
        for path, amount in state.get("files", {}).items():
            files[path] = files.get(path, 0) + amount
        for stage, amount in state.get("stages", {}).items():
            stages[stage] = stages.get(stage, 0) + amount
    return files, stages


class CountingReader(io.RawIOBase):
    """A raw input stream that reports the bytes read through it to the board (compressed bytes
    for a compressed file: what the run's total size is measured in)."""

    def __init__(self, raw: BinaryIO, path: str, progress: ProgressBoard):
        self._raw = raw
        self._path = path
        self._board = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer) if hasattr(self._raw, "readinto") else _copy_into(self._raw, buffer)
        if n:
            self._board.read_bytes(self._path, n)
        return n

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if data:
            self._board.read_bytes(self._path, len(data))
        return data

    def seekable(self) -> bool:
        return self._raw.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()
            self._board.flush()


def _copy_into(raw: BinaryIO, buffer) -> int:
    data = raw.read(len(buffer))
    buffer[: len(data)] = data
    return len(data)


def counting_opener(opener: Callable[[str], BinaryIO]) -> Callable[[str], BinaryIO]:
    """``opener`` whose streams report bytes read to this process's board; ``opener`` itself
    when no display listens (no cost on a cluster)."""
    progress = board()
    if not progress.enabled:
        return opener
    # Buffered: readline() on a raw stream would read a plain file one byte per call.
    return lambda path: io.BufferedReader(CountingReader(opener(path), path, progress))


class RunDisplay:
    """What the command shows while a local run goes: raw bytes read of the inputs' total, the
    rate, an ETA and rows per stage, from the boards in ``directory``. On a terminal a live
    display (rich); otherwise one line every ``interval`` seconds. Use as a context manager
    around the run; ``enabled=False`` shows nothing."""

    def __init__(self, directory: str, sizes: dict[str, int], *, stream, enabled: bool = True, interval: float = 30.0):
        self._directory = directory
        self._sizes = sizes
        self._total = sum(sizes.values())
        self._stream = stream
        self._enabled = enabled
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0

    def snapshot(self) -> dict:
        """Bytes read (each file capped at its size; files outside the total, such as the other
        side of a Moses pair, left out when the total is known), total, rate, ETA in seconds
        (None when unknown) and rows per stage, now."""
        files, stages = read_boards(self._directory)
        if self._sizes:
            done = sum(min(n, self._sizes[path]) for path, n in files.items() if path in self._sizes)
        else:
            done = sum(files.values())
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = done / elapsed
        eta = (self._total - done) / rate if rate > 0 and self._total else None
        return {"done": done, "total": self._total, "rate": rate, "eta": eta, "stages": stages, "elapsed": elapsed}

    def line(self) -> str:
        s = self.snapshot()
        share = f"{s['done'] / s['total']:.0%} of " if s["total"] else ""
        eta = f", ETA {_duration(s['eta'])}" if s["eta"] is not None and s["done"] < s["total"] else ""
        stages = ", ".join(f"{name} {_number(n)}" for name, n in s["stages"].items())
        return f"progress: {share}{format_bytes(s['total'] or s['done'])} read, {format_bytes(s['rate'])}/s{eta}" + (
            f"; rows: {stages}" if stages else ""
        )

    def __enter__(self) -> RunDisplay:
        self._started = time.monotonic()
        if self._enabled:
            live = getattr(self._stream, "isatty", lambda: False)()
            self._thread = threading.Thread(target=self._live if live else self._lines, daemon=True, name="corpusforge-progress")
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _lines(self) -> None:
        while not self._stop.wait(self._interval):
            print(self.line(), file=self._stream, flush=True)

    def _live(self) -> None:
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        console = Console(file=self._stream)
        with Live(Text(self.line()), console=console, refresh_per_second=4, transient=True) as live:
            while not self._stop.wait(0.5):
                live.update(self._render())

    def _render(self):
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        s = self.snapshot()
        grid = Table.grid(padding=(0, 1))
        bar = ProgressBar(total=s["total"] or None, completed=s["done"], width=40)
        eta = _duration(s["eta"]) if s["eta"] is not None else "?"
        grid.add_row("read", bar, f"{format_bytes(s['done'])} / {format_bytes(s['total'])}  {format_bytes(s['rate'])}/s  ETA {eta}")
        for name, n in s["stages"].items():
            grid.add_row(name, "", f"{_number(n)} rows  {_number(n / s['elapsed'])} rows/s")
        return grid


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
