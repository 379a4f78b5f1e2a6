"""Row accounting: every stage reports what it read, kept, refused, removed and created, so the
run manifest can prove that rows read + rows created = rows written + rejected + duplicates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa

from corpusforge.records import Split

READ_STAGE = "read"
WRITE_STAGE = "write"
FILES = "files"  # outcome: input files read
# outcome: duplicates that are also listed in the rejected output (near-duplicates, with their
# survivor); they count once, as duplicates, and make up the rejected output's extra rows
DUPLICATE_STORED = "duplicate_stored"


@dataclass
class Tally:
    """Row counts keyed by (stage, source, outcome). Outcomes: ``read``, ``out``, ``rejected``,
    ``rejected:<reason>``, ``duplicate``, ``created``, ``written``, and ``files`` (input files
    read, stage ``read``: an input that gave no row still has its entry). Tallies add up with ``+``."""

    counts: Counter = field(default_factory=Counter)

    def add(self, stage: str, source: str, outcome: str, n: int = 1) -> None:
        if n:
            self.counts[(stage, source, outcome)] += n

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.counts + other.counts)

    def __iadd__(self, other: Tally) -> Tally:
        self.counts.update(other.counts)
        return self

    @classmethod
    def merge(cls, tallies: Iterable[Tally]) -> Tally:
        total = cls()
        for t in tallies:
            total += t
        return total

    @classmethod
    def of_split(cls, stage: str, split: Split) -> Tally:
        """Counts of a stage's kept rows (``out``) and refused rows (``rejected``, by reason), per source."""
        tally = cls()
        for source, n in _count_by(split.kept, "source"):
            tally.add(stage, source, "out", n)
        if split.rejected.num_rows:
            for (source, reason), n in Counter(
                zip(split.rejected.column("source").to_pylist(), split.rejected.column("reason").to_pylist())
            ).items():
                tally.add(stage, source, "rejected", n)
                tally.add(stage, source, f"rejected:{reason}", n)
        return tally

    @classmethod
    def of_read(cls, split: Split) -> Tally:
        """A reader's tally: every row it produced, kept or rejected, counts as read."""
        tally = cls.of_split(READ_STAGE, split)
        for (_stage, source, outcome), n in list(tally.counts.items()):
            if outcome in ("out", "rejected"):
                tally.add(READ_STAGE, source, "read", n)
        return tally

    @classmethod
    def of_file(cls, source: str) -> Tally:
        """One input file of ``source`` read (whatever it gave)."""
        tally = cls()
        tally.add(READ_STAGE, source, FILES)
        return tally

    @classmethod
    def of_rows(cls, stage: str, outcome: str, batch: pa.RecordBatch | pa.Table) -> Tally:
        tally = cls()
        for source, n in _count_by(batch, "source"):
            tally.add(stage, source, outcome, n)
        return tally

    def total(self, outcome: str, stage: str | None = None, source: str | None = None) -> int:
        return sum(
            n
            for (st, so, out), n in self.counts.items()
            if out == outcome and (stage is None or st == stage) and (source is None or so == source)
        )

    def sources(self) -> list[str]:
        return sorted({so for (_, so, _) in self.counts})

    def stages(self) -> list[str]:
        seen: dict[str, None] = {}
        for st, _, _ in self.counts:
            seen.setdefault(st, None)
        return list(seen)

    def balance(self, source: str | None = None) -> dict:
        """The accounting identity for one source (or all): read + created = written + rejected + duplicates."""
        read = self.total("read", READ_STAGE, source)
        created = self.total("created", source=source)
        written = self.total("written", source=source)
        rejected = self.total("rejected", source=source)
        duplicates = self.total("duplicate", source=source)
        return {
            "read": read,
            "created": created,
            "written": written,
            "rejected": rejected,
            "duplicates": duplicates,
            "balanced": read + created == written + rejected + duplicates,
        }


def _count_by(batch: pa.RecordBatch | pa.Table, column: str) -> list[tuple[str, int]]:
    if batch.num_rows == 0:
        return []
    counts = batch.column(column).value_counts()
    return [(v["values"].as_py(), v["counts"].as_py()) for v in counts]
