"""The shape every stage has: a Stage class registered by name, validated from a recipe and run
by the corpus job through the one Beam adapter, with no edit to pipelines/ or beam/. The
adapter's promises are tested here too: a row a stage raises on becomes one ``stage_error``
rejected row while the rest of its batch goes on, errors about the machine still fail the run,
and a stage's heavy state loads once per process however many DoFn instances use it."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Literal

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from corpusforge.beam.stages import STAGE_ERROR, ApplyStage, SumTallies, process_isolating_errors
from corpusforge.config import STAGES, ConfigError, recipe_from_dict, register_stage
from corpusforge.pipelines.corpus import build
from corpusforge.records import Split, reject_where, with_columns
from corpusforge.schemas import load_schema
from corpusforge.transforms.base import GlobalStage, InferenceStage, Stage

pytestmark = pytest.mark.slow

WORDS_FIELD = pa.field("n_words", pa.int64(), metadata={"doc": "Whitespace-separated words in text."})
LOADS: Counter = Counter()  # label -> times setup() loaded the stage's "heavy state"
_LOADS_LOCK = threading.Lock()


class WordCountStage(Stage):
    """Count words and refuse segments with fewer than ``min_words`` (a test-only example stage).

    - ``min_words``: segments with fewer words are rejected as ``too_few_words``.
    - ``vocabulary``: a word list read in :meth:`setup` (the stage's heavy state).
    - ``explode_on``: raise on rows whose text contains it (to exercise the dead-letter path).
    - ``explode_with``: the exception raised there.
    - ``label``: names the stage's loads in :data:`LOADS`.
    """

    name = "word_count"
    version = "1"
    kinds = ("segment",)

    def __init__(
        self,
        *,
        min_words: int = 0,
        vocabulary: Path | None = None,
        explode_on: str | None = None,
        explode_with: Literal["ValueError", "MemoryError"] = "ValueError",
        label: str = "",
    ):
        if min_words < 0:
            raise ValueError(f"min_words must be >= 0, got {min_words}")
        self.min_words = min_words
        self.vocabulary = str(vocabulary) if vocabulary else None
        self.explode_on = explode_on
        self.explode_with = explode_with
        self.label = label
        self._known: frozenset[str] | None = None

    def setup(self) -> None:
        with _LOADS_LOCK:
            LOADS[self.label] += 1
        words = Path(self.vocabulary).read_text(encoding="utf-8").split() if self.vocabulary else []
        self._known = frozenset(words)

    def output_fields(self, kind: str) -> list[pa.Field]:
        return [WORDS_FIELD]

    def describe(self) -> dict:
        return {**super().describe(), "min_words": self.min_words, "label": self.label}

    def process(self, batch: pa.RecordBatch) -> Split:
        texts = batch.column("text").to_pylist()
        if self.explode_on and any(self.explode_on in (t or "") for t in texts):
            error = {"ValueError": ValueError, "MemoryError": MemoryError}[self.explode_with]
            raise error(f"cannot count {self.explode_on!r}")
        counts = pa.array([len((t or "").split()) for t in texts], pa.int64())
        batch = pa.RecordBatch.from_arrays([*batch.columns, counts], schema=batch.schema.append(WORDS_FIELD))
        return reject_where(batch, pc.less(counts, self.min_words), stage=self.name, kind="segment", reason="too_few_words")


class SingleInstanceWordCount(WordCountStage):
    """The same stage, declared unsafe to share across threads: one set-up instance per DoFn."""

    thread_safe = False


class WordTotals:
    """Rows and words of segment batches: mergeable sums (the example global stage's statistics)."""

    def __init__(self):
        self.rows = self.words = 0

    def add_batch(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        self.words += sum(len((t or "").split()) for t in batch.column("text").to_pylist())

    def merge(self, other: WordTotals) -> WordTotals:
        self.rows, self.words = self.rows + other.rows, self.words + other.words
        return self

    def to_dict(self) -> dict:
        return {"rows": self.rows, "words": self.words}


class AtLeastWords(Stage):
    """The plan of :class:`AboveMeanStage`: refuse segments with fewer than ``threshold`` words."""

    name = "above_mean"
    kinds = ("segment",)

    def __init__(self, *, threshold: float):
        self.threshold = threshold

    def process(self, batch: pa.RecordBatch) -> Split:
        short = [len((t or "").split()) < self.threshold for t in batch.column("text").to_pylist()]
        return reject_where(batch, short, stage=self.name, kind="segment", reason="below_mean")


class AboveMeanStage(GlobalStage):
    """Keep segments with at least the corpus's mean word count (a test-only global stage)."""

    name = "above_mean"
    kinds = ("segment",)
    report_names = ("word_totals",)

    def statistics(self) -> WordTotals:
        return WordTotals()

    def plan(self, stats: WordTotals) -> AtLeastWords:
        return AtLeastWords(threshold=stats.words / stats.rows if stats.rows else 0.0)

    def output_statistics(self) -> WordTotals:
        return WordTotals()

    def reports(self, *, stats: WordTotals, plan: AtLeastWords, output: WordTotals) -> dict:
        return {"word_totals": {"in": stats.to_dict(), "kept": output.to_dict(), "threshold": plan.threshold}}

    def written_reports(self, kind: str) -> dict:
        return {"written_words": WordTotals}


class Upper:
    """The "model" of :class:`ShoutStage` (a class instance: RunInference keeps a weak reference)."""

    def __call__(self, text: str) -> str:
        return text.upper()


class ShoutStage(InferenceStage):
    """Upper-cases text with a "model" (a test-only inference stage): ``load_model`` counts its
    loads in :data:`LOADS`."""

    name = "shout"
    kinds = ("segment",)

    def __init__(self, *, explode_on: str | None = None, label: str = ""):
        self.explode_on = explode_on
        self.label = label
        self._model: Upper | None = None

    def load_model(self):
        with _LOADS_LOCK:
            LOADS[self.label] += 1
        return Upper()

    def use_model(self, model) -> None:
        self._model = model

    def process(self, batch: pa.RecordBatch) -> Split:
        texts = batch.column("text").to_pylist()
        if self.explode_on and any(self.explode_on in t for t in texts):
            raise ValueError(f"cannot shout {self.explode_on!r}")
        assert self._model is not None  # the runner hands the model over first
        return Split.keep_all(with_columns(batch, [batch.schema.field("text")], [pa.array([self._model(t) for t in texts])]))


@pytest.fixture(autouse=True, scope="module")
def registered():
    register_stage("word_count", f"{__name__}:WordCountStage")
    register_stage("above_mean", f"{__name__}:AboveMeanStage")
    register_stage("shout", f"{__name__}:ShoutStage")
    yield
    STAGES.pop("shout", None)
    STAGES.pop("word_count", None)
    STAGES.pop("above_mean", None)


def lines_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "lines.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def recipe(tmp_path: Path, stages: list, path: Path):
    return recipe_from_dict(
        {
            "name": "shape",
            "inputs": [{"name": "lines", "format": "text", "paths": [str(path)], "options": {"lang": "eng_Latn"}}],
            "stages": stages,
            "output": {"path": str(tmp_path / "out")},
        },
        base_dir=str(tmp_path),
    )


def run(recipe_, *options: str) -> dict:
    with beam.Pipeline(options=PipelineOptions(list(options) or ["--runner=DirectRunner"])) as p:
        build(p, recipe_)
    return json.loads(Path(recipe_.output_dir, "_manifest.json").read_text(encoding="utf-8"))


def rows(path: Path) -> list[dict]:
    files = sorted(str(f) for f in path.rglob("*.parquet"))
    return ds.dataset(files, format="parquet").to_table().to_pylist() if files else []


LINES = ["one two three", "four", "five six", "seven eight nine ten", "eleven"]


def test_a_registered_stage_is_validated_from_a_recipe_and_runs_in_the_job(tmp_path):
    path = lines_file(tmp_path, LINES)
    with pytest.raises(ConfigError, match="min_word.*did you mean 'min_words'"):
        recipe(tmp_path, [{"word_count": {"min_word": 2}}], path)
    with pytest.raises(ConfigError, match="min_words must be >= 0"):
        recipe(tmp_path, [{"word_count": {"min_words": -1}}], path)
    with pytest.raises(ValueError, match="already registered"):
        register_stage("word_count", "elsewhere:Other")

    manifest = run(recipe(tmp_path, [{"normalize": {}}, {"word_count": {"min_words": 2}}], path))
    assert manifest["balanced"] is True
    written = {r["text"]: r["n_words"] for r in rows(tmp_path / "out" / "segment")}
    assert written == {"one two three": 3, "five six": 2, "seven eight nine ten": 4}
    rejected = rows(tmp_path / "out" / "rejected")
    assert sorted((r["stage"], r["reason"], r["preview"]) for r in rejected) == [
        ("word_count", "too_few_words", "eleven"),
        ("word_count", "too_few_words", "four"),
    ]
    assert {"name": "word_count", "version": "1", "min_words": 2, "label": ""} in manifest["stages"]


def test_a_global_stage_plans_from_the_whole_input_and_reports_into_the_manifest(tmp_path):
    path = lines_file(tmp_path, LINES)  # 11 words in 5 rows: the mean is 2.2
    manifest = run(recipe(tmp_path, [{"above_mean": {}}], path))
    assert manifest["balanced"] is True
    assert sorted(r["text"] for r in rows(tmp_path / "out" / "segment")) == ["one two three", "seven eight nine ten"]
    assert sorted(r["reason"] for r in rows(tmp_path / "out" / "rejected")) == ["below_mean"] * 3
    assert manifest["word_totals"] == {"in": {"rows": 5, "words": 11}, "kept": {"rows": 2, "words": 7}, "threshold": 2.2}
    assert manifest["written_words"] == {"rows": 2, "words": 7}


def test_a_row_that_raises_becomes_one_stage_error_and_the_batch_goes_on(tmp_path):
    lines = [f"line {i} fine" for i in range(40)]
    lines[23] = "line 23 has BOOM in it"
    path = lines_file(tmp_path, lines)
    manifest = run(recipe(tmp_path, [{"word_count": {"explode_on": "BOOM"}}], path))

    assert manifest["balanced"] is True
    assert manifest["sources"]["lines"]["read"] == 40
    written = rows(tmp_path / "out" / "segment")
    assert sorted(r["text"] for r in written) == sorted(lines[:23] + lines[24:])
    (error,) = rows(tmp_path / "out" / "rejected")
    assert (error["reason"], error["stage"], error["kind"], error["source"]) == (STAGE_ERROR, "word_count", "segment", "lines")
    assert error["detail"] == "word_count: ValueError: cannot count 'BOOM'"
    assert error["preview"] == lines[23]
    assert error["id"] not in {r["id"] for r in written}


def test_the_dead_letter_path_isolates_each_bad_row_of_one_batch():
    texts = [f"w{i}" for i in range(13)]
    for bad in (0, 6, 12):
        texts[bad] = f"BOOM {bad}"
    batch = pa.RecordBatch.from_pylist(
        [{"id": f"r{i}", "source": "s", "text": t} for i, t in enumerate(texts)],
        schema=pa.schema([load_schema("segment").field(n) for n in ("id", "source", "text")]),
    )
    stage = WordCountStage(explode_on="BOOM")
    parts = list(process_isolating_errors(stage, batch, kind="segment"))
    kept = [r["id"] for split, _ in parts for r in split.kept.to_pylist()]
    errors = [r for split, _ in parts for r in split.rejected.to_pylist()]
    assert kept == [f"r{i}" for i in range(13) if i not in (0, 6, 12)]  # the rest, in order
    assert [(r["id"], r["reason"]) for r in errors] == [("r0", STAGE_ERROR), ("r6", STAGE_ERROR), ("r12", STAGE_ERROR)]
    total = sum((tally for _, tally in parts), start=type(parts[0][1])())
    assert (total.total("out"), total.total("rejected"), total.total(f"rejected:{STAGE_ERROR}")) == (10, 3, 3)


def test_a_stage_that_fails_on_every_row_stops_the_run_instead_of_rejecting_everything():
    """A bug in a stage (it raises on any row) is not bad data: rejecting every row as
    stage_error would end in an empty output and exit status 0."""
    batch = pa.RecordBatch.from_pylist(
        [{"id": f"r{i}", "source": "s", "text": f"BOOM {i}"} for i in range(8)],
        schema=pa.schema([load_schema("segment").field(n) for n in ("id", "source", "text")]),
    )
    with pytest.raises(ValueError, match="cannot count"):
        list(process_isolating_errors(WordCountStage(explode_on="BOOM"), batch, kind="segment"))
    one = batch.slice(0, 1)  # a batch of one bad row is still that row's problem
    ((split, _),) = process_isolating_errors(WordCountStage(explode_on="BOOM"), one, kind="segment")
    assert split.rejected.column("reason").to_pylist() == [STAGE_ERROR]


def test_errors_about_the_machine_still_fail_the_run(tmp_path):
    path = lines_file(tmp_path, LINES + ["BOOM"])
    with pytest.raises(Exception, match="MemoryError|cannot count"):
        run(recipe(tmp_path, [{"word_count": {"explode_on": "BOOM", "explode_with": "MemoryError"}}], path))
    missing = tmp_path / "no-such-vocabulary.txt"
    with pytest.raises(Exception, match="no-such-vocabulary"):
        run(recipe(tmp_path, [{"word_count": {"vocabulary": str(missing)}}], path))


def _loads_across_instances(stage: Stage, *options: str) -> int:
    batches = [pa.RecordBatch.from_pylist([{"id": f"{b}-{i}", "source": "s", "text": "a b"} for i in range(3)]) for b in range(8)]
    with beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner", *options])) as p:
        source = p | beam.Create(batches, reshuffle=True)
        branches = [source | f"Branch{n}" >> ApplyStage(stage, kind="segment") for n in range(3)]
        counts = [b.counts for b in branches] | beam.Flatten() | SumTallies() | beam.Map(lambda t: t.total("out"))
        assert_that(counts, equal_to([3 * 8 * 3]))
    return LOADS[stage.label]


def test_heavy_state_loads_once_per_process_across_dofn_instances_and_threads():
    threads = ["--direct_running_mode=multi_threading", "--direct_num_workers=3"]
    shared = WordCountStage(label=f"shared-{uuid.uuid4()}")
    assert _loads_across_instances(shared, *threads) == 1
    unsafe = SingleInstanceWordCount(label=f"unsafe-{uuid.uuid4()}")
    assert _loads_across_instances(unsafe, *threads) >= 3  # one per DoFn instance: the count can see them


def test_an_inference_stage_runs_through_the_one_runinference_handler(tmp_path):
    """A new model stage needs no adapter of its own: ApplyStage feeds it through RunInference,
    loads its model once, and isolates a row that raises."""
    lines = [f"line {i}" for i in range(10)]
    lines[6] = "line 6 BOOM"
    label = f"shout-{uuid.uuid4()}"
    manifest = run(recipe(tmp_path, [{"shout": {"explode_on": "BOOM", "label": label}}], lines_file(tmp_path, lines)))
    assert manifest["balanced"] is True
    assert sorted(r["text"] for r in rows(tmp_path / "out" / "segment")) == sorted(t.upper() for t in lines if "BOOM" not in t)
    (error,) = rows(tmp_path / "out" / "rejected")
    assert (error["reason"], error["stage"], error["preview"]) == (STAGE_ERROR, "shout", "line 6 BOOM")
    assert LOADS[label] == 1
