"""Progress lines for long runs: running totals and a rate, logged at most every ~10 s.

One :class:`Progress` per file read or per worker process; it restarts when unpickled, so a
stage that carries one into a Beam worker reports that worker's own totals.
"""

from __future__ import annotations

import logging
import time

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
