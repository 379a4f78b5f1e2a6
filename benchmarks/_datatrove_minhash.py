"""Run datatrove's four MinHash steps on a JSONL folder and print the seconds and rows removed as
JSON. Run by benchmarks/near_dedup_quality.py with the interpreter of its own virtualenv
(datatrove is not a corpusforge dependency): python _datatrove_minhash.py IN WORK NGRAM."""

import json
import sys
import time

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig

source, work, ngram = sys.argv[1], sys.argv[2], int(sys.argv[3])
# its defaults: 14 buckets x 8 hashes; sha1 (its xxhash path fails on str shingles in this release)
config = MinhashConfig(n_grams=ngram, hash_config=HashConfig(hash_fc="sha1"))
steps = [
    [JsonlReader(source), MinhashDedupSignature(output_folder=f"{work}/sigs", config=config, language="eng")],
    [MinhashDedupBuckets(input_folder=f"{work}/sigs", output_folder=f"{work}/buckets", config=config)],
    [MinhashDedupCluster(input_folder=f"{work}/buckets", output_folder=f"{work}/remove_ids", config=config)],
    [
        JsonlReader(source),
        MinhashDedupFilter(input_folder=f"{work}/remove_ids", exclusion_writer=JsonlWriter(f"{work}/removed")),
        JsonlWriter(f"{work}/kept"),
    ],
]
started = time.perf_counter()
for n, pipeline in enumerate(steps):
    tasks = config.num_buckets if n == 1 else 1
    LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=f"{work}/logs{n}").run()
seconds = time.perf_counter() - started
removed = 0
for path in __import__("glob").glob(f"{work}/removed/*.jsonl*"):
    opener = __import__("gzip").open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        removed += sum(1 for _ in f)
print(json.dumps({"seconds": seconds, "removed": removed}))
