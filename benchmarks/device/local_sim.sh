#!/usr/bin/env bash
# HERE, before spending device time: run gpu_check.sh on a copy of the current working tree (what
# the run tool would send: tracked + untracked-not-ignored files + .devrun) with a CPython 3.12 that
# holds only packages the device has (/tmp/py312). No GPU here, so the smoke test reports 0 CUDA
# devices, the 2 GPU tests skip and the benchmark is skipped; everything before that is exercised:
# unpacking, protobuf choice, corpusforge import layout, ctranslate2 import, cuBLAS lookup, pytest
# collection. Then it runs the CPU MT tests and a tiny CPU benchmark in the same environment.
#   bash .devrun/local_sim.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY312_ENV:-/tmp/py312}
if [ ! -x "$PY/bin/python3" ]; then
  "$HOME/.pyenv/versions/3.12.1/bin/python" -m venv "$PY"
  # the device's versions where KINDS.md gives them (numpy 2.5.2, sentencepiece 0.2.2)
  "$PY/bin/pip" install -q "numpy==2.5.2" "pyarrow==25.0.1" "sentencepiece==0.2.2" sacrebleu pyyaml regex grpcio \
    pytest requests packaging python-dateutil sortedcontainers typing-extensions pillow setuptools wheel cloudpickle \
    pyparsing six rich "protobuf==5.29.5"
fi
WT=$(mktemp -d /tmp/cf_wt.XXXX)
(git ls-files -co --exclude-standard; find .devrun -type f) | sort -u | tar -cf - -T - | tar -xf - -C "$WT"
echo "tree copy: $WT ($(du -sh "$WT" | cut -f1) would travel)"
SIM_OUT=$WT.out && mkdir -p "$SIM_OUT"
CLEAN_ENV=(env -i HOME="$HOME" PATH="$PY/bin:/usr/bin:/bin")
(cd "$WT" && "${CLEAN_ENV[@]}" OUT="$SIM_OUT" bash .devrun/gpu_check.sh) | tail -4
echo "--- CPU MT tests (device-like env)"
(cd "$WT" && "${CLEAN_ENV[@]}" PYTHONPATH="$WT:/tmp/cf_site/protobuf:/tmp/cf_site/site" \
  python3 -m pytest -q tests/test_mt_translator.py tests/test_mt_beam.py -p no:cacheprovider -rf 2>&1 | grep -E '^(FAILED|ERROR)|[0-9]+ (passed|failed)') || true
echo "--- tiny CPU benchmark"
(cd "$WT" && "${CLEAN_ENV[@]}" PYTHONPATH="$WT:/tmp/cf_site/protobuf:/tmp/cf_site/site" \
  python3 benchmarks/mt_throughput.py --sentences 64 --length 4 2>&1 | grep -v '^WARNING' | tail -4)
echo "logs: $SIM_OUT"
