#!/usr/bin/env bash
# One device check of corpusforge's MT path on the GPU machine (H200, Python 3.12, CUDA 13 libs only).
# From the repository root:  bash .devrun/gpu_check.sh      (run tool: carry [".devrun"])
#   1. setup + diagnostics  -> $OUT/setup.log   (packages, cuBLAS 13 lookup, ldd, CUDA smoke test)
#   2. GPU tests            -> $OUT/gpu_tests.log   python3 -m pytest -q tests/test_mt_translator.py -m gpu
#   3. benchmark            -> $OUT/mt_bench.log    python3 benchmarks/mt_throughput.py --device cuda ...
#   $OUT/summary.txt: one line per step.  Env knobs: CHECK_BUDGET_S (default 420: the script
#   stops the benchmark so that everything ends by then), BENCH_ARGS (default "--repeat 2").
set -u
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
DEV=$ROOT/.devrun
OUT=${OUT:-/tmp/gpu_check_out}
mkdir -p "$OUT"
BUDGET=${CHECK_BUDGET_S:-420}
BENCH_ARGS=${BENCH_ARGS:---repeat 2}
SITE=/tmp/cf_site
SHIM=/tmp/cf_shim
SETUP_LOG=$OUT/setup.log
SUMMARY=$OUT/summary.txt
: >"$SETUP_LOG"; : >"$SUMMARY"
START=$SECONDS
say() { echo "[+$((SECONDS - START))s] $*" >>"$SETUP_LOG"; }   # setup.log is printed once setup ends
run_logged() { "$@" >>"$SETUP_LOG" 2>&1; }   # output to setup.log only (printed at the end of setup)
summary() { echo "$*" | tee -a "$SUMMARY"; }

# ---------------------------------------------------------------- 1. setup
say "root $ROOT; python3 = $(command -v python3) ($(python3 -V 2>&1)); budget ${BUDGET}s"
run_logged nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
say "nproc $(nproc); $(grep MemTotal /proc/meminfo); /tmp: $(df -h /tmp | tail -1)"
python3 -m pip list --format=freeze >"$OUT/device_pip.txt" 2>&1
say "device packages used as they are: $(grep -iE '^(numpy|pyarrow|protobuf|sentencepiece|sacrebleu|pytest|pyyaml|regex|grpcio|requests|packaging|python-dateutil|pillow|typing.extensions)==' "$OUT/device_pip.txt" | tr '\n' ' ')"

rm -rf "$SITE" && mkdir -p "$SITE"
python3 - "$DEV/site.tar.xz" "$SITE" <<'EOF' >>"$SETUP_LOG" 2>&1 || { say "FATAL: could not unpack site.tar.xz"; cat "$SETUP_LOG"; exit 2; }
import sys, tarfile, time
t = time.time()
with tarfile.open(sys.argv[1]) as tar:
    kw = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
    tar.extractall(sys.argv[2], **kw)
print(f"unpacked {sys.argv[1]} in {time.time() - t:.1f} s")
EOF
PYPATH=$SITE/site
if python3 - <<'EOF' >>"$SETUP_LOG" 2>&1; then
import sys
try:
    import google.protobuf as pb
except Exception as e:
    print(f"device protobuf: none ({e})"); sys.exit(1)
v = tuple(int(x) for x in pb.__version__.split(".")[:3] if x.isdigit())
print(f"device protobuf {pb.__version__}")
sys.exit(0 if (6, 33, 5) <= v < (7,) else 1)
EOF
  say "protobuf: the device's (fits apache-beam <7 and proto-plus >=6.33.5)"
else
  PYPATH=$SITE/protobuf:$PYPATH
  say "protobuf: the carried 6.33.6 (device's is missing or outside [6.33.5, 7))"
fi
# corpusforge itself: pyproject maps corpusforge.{schemas_json,configs} to top-level data
# folders; in this throw-away copy of the tree, link them so the source tree imports as installed
# (also with `python3 -m pytest`, which puts the repository root first on sys.path).
for pair in schemas_json:schemas configs:configs; do
  ln -sfn "../${pair#*:}" "$ROOT/corpusforge/${pair%%:*}"
done
export PYTHONPATH=$ROOT:$PYPATH${PYTHONPATH:+:$PYTHONPATH}

# cuBLAS 13 (the patched ctranslate2 dlopen()s "libcublas.so.13" by name).
CUBLAS_DIR=$(python3 - <<'EOF' 2>>"$SETUP_LOG"
import glob, os, site, sys
found = []
try:
    import nvidia.cublas as m  # CUDA 12-style layout: nvidia/cublas/lib
    for p in getattr(m, "__path__", []):
        found += glob.glob(os.path.join(p, "lib", "libcublas.so.13*"))
except Exception as e:
    print(f"import nvidia.cublas: {type(e).__name__}: {e}", file=sys.stderr)
roots = [p for p in dict.fromkeys(site.getsitepackages() + [site.getusersitepackages()] + sys.path) if p and os.path.isdir(p)]
for r in roots:  # CUDA 13 wheels: nvidia/cu13/lib
    found += glob.glob(os.path.join(r, "nvidia", "**", "libcublas.so.13*"), recursive=True)
for pattern in ("/usr/local/cuda*/lib64/libcublas.so.13*", "/usr/local/cuda*/targets/*/lib/libcublas.so.13*",
                "/usr/lib/x86_64-linux-gnu/libcublas.so.13*", "/usr/local/lib/python3*/dist-packages/nvidia/**/libcublas.so.13*"):
    found += glob.glob(pattern, recursive=True)
dirs = list(dict.fromkeys(os.path.dirname(os.path.realpath(f)) for f in found))
for d in dirs:
    print(f"libcublas.so.13 candidate: {d}: {sorted(os.listdir(d))[:12]}", file=sys.stderr)
good = [d for d in dirs if os.path.exists(os.path.join(d, "libcublas.so.13")) and os.path.exists(os.path.join(d, "libcublasLt.so.13"))]
print(good[0] if good else "")
EOF
)
if [ -n "$CUBLAS_DIR" ]; then
  say "cuBLAS 13: $CUBLAS_DIR"
  # Also answer the CUDA 12 names (only an unpatched ctranslate2 would ask for them).
  rm -rf "$SHIM" && mkdir -p "$SHIM"
  ln -s "$CUBLAS_DIR/libcublas.so.13" "$SHIM/libcublas.so.12"
  ln -s "$CUBLAS_DIR/libcublasLt.so.13" "$SHIM/libcublasLt.so.12"
  export LD_LIBRARY_PATH=$CUBLAS_DIR:$SHIM${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
else
  say "cuBLAS 13: NOT FOUND (see the candidates above); GPU translation will fail"
fi
# ctranslate2 ships PTX for compute_86 and cubins up to sm_86, none for sm_90: the driver JIT-compiles
# its kernels on first use. Keep them in a cache big enough, shared by the three Python processes.
export CUDA_CACHE_PATH=/tmp/cf_cuda_cache CUDA_CACHE_MAXSIZE=4294967296
say "PYTHONPATH=$PYTHONPATH"
say "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"

CT2_LIB=$(ls "$SITE"/site/ctranslate2.libs/libctranslate2-*.so* 2>/dev/null | head -1)
{
  echo "--- readelf: NEEDED of $CT2_LIB"; readelf -d "$CT2_LIB" | grep -E 'NEEDED|RPATH|RUNPATH'
  echo "--- cuBLAS soname the stub dlopen()s:"; strings -a "$CT2_LIB" | grep -E '^libcublas'
  echo "--- ldd $CT2_LIB"; ldd "$CT2_LIB"
  if [ -n "$CUBLAS_DIR" ]; then echo "--- ldd $CUBLAS_DIR/libcublas.so.13"; ldd "$CUBLAS_DIR/libcublas.so.13"; fi
} >>"$SETUP_LOG" 2>&1

# Smoke test: import, device count, cuBLAS by name, then a tiny model translated on the GPU in
# float16 and int8_float16 (first use: PTX JIT, cuBLAS handle) - the same path the tests take.
timeout 180 python3 - <<'EOF' >>"$SETUP_LOG" 2>&1
import ctypes, sys, tempfile, time
from pathlib import Path
import ctranslate2
print(f"ctranslate2 {ctranslate2.__version__} from {ctranslate2.__file__}")
n = ctranslate2.get_cuda_device_count()
print(f"ctranslate2.get_cuda_device_count() = {n}")
if n == 0:
    sys.exit("no CUDA device visible to ctranslate2")
print(f"supported compute types on cuda: {sorted(ctranslate2.get_supported_compute_types('cuda'))}")
lib = ctypes.CDLL("libcublas.so.13")
vals = []
for prop in (0, 1, 2):  # MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL
    v = ctypes.c_int()
    lib.cublasGetProperty(prop, ctypes.byref(v)); vals.append(v.value)
print(f"dlopen('libcublas.so.13') ok: cuBLAS {'.'.join(map(str, vals))}")
from corpusforge.mt.testing import Shape, build_model
from corpusforge.mt.translator import Ct2Translator
texts = ["The cat sat on the mat.", "A quick brown fox jumps over the lazy dog.", "Le chat est assis."]
root = Path(tempfile.mkdtemp(prefix="cf_smoke_"))
copy = build_model(root / "copy", texts)
rand = build_model(root / "rand", texts, kind="random", shape=Shape(2, 2, 4, 64, 128))
ok, ran = True, True
for ct in ("float16", "int8_float16"):
    t = time.perf_counter()
    try:
        out = Ct2Translator(copy, device="cuda", compute_type=ct, beam_size=1).translate(texts, src_lang="eng_Latn", tgt_lang="fra_Latn")
        r = Ct2Translator(rand, device="cuda", compute_type=ct, beam_size=2, max_decoding_length=8).translate(texts, src_lang="eng_Latn", tgt_lang="fra_Latn")
        same = [o.text for o in out] == texts
        print(f"cuda {ct}: copy model {'returns its input' if same else 'DIFFERS: ' + repr([o.text for o in out])}; "
              f"random model {len(r)} outputs; {time.perf_counter() - t:.1f} s (first use includes the PTX JIT)")
        ok = ok and same
    except Exception as e:
        print(f"cuda {ct}: FAILED after {time.perf_counter() - t:.1f} s: {type(e).__name__}: {e}")
        ok = ran = False
sys.exit(0 if ok else 3 if ran else 4)
EOF
SMOKE_RC=$?
case $SMOKE_RC in
  0) SMOKE="OK" ;;
  3) SMOKE="CUDA runs, but the copy model's output differs" ;;
  124) SMOKE="TIMED OUT (180 s)" ;;
  *) SMOKE="FAILED (rc $SMOKE_RC)" ;;
esac
CUDA_RUNS=0; case $SMOKE_RC in 0|3) CUDA_RUNS=1 ;; esac
say "smoke test: $SMOKE"
if [ "$CUDA_RUNS" != 1 ]; then
  say "loader trace of the cuBLAS lookup -> ld_debug.log"
  LD_DEBUG=libs timeout 60 python3 -c "import ctranslate2, ctypes; print(ctranslate2.get_cuda_device_count()); ctypes.CDLL('libcublas.so.13')" 2>&1 \
    | grep -iE 'cublas|libcuda|error|fatal' | head -400 >"$OUT/ld_debug.log"
fi
summary "setup: smoke test $SMOKE; $((SECONDS - START)) s"
echo "=================== setup.log"; cat "$SETUP_LOG"

# ---------------------------------------------------------------- 2. GPU tests
set -o pipefail
echo "=================== pytest -m gpu"
timeout 150 python3 -m pytest -q tests/test_mt_translator.py -m gpu -rA -p no:cacheprovider 2>&1 | tee "$OUT/gpu_tests.log"
TEST_RC=$?
summary "gpu tests: rc $TEST_RC; $(grep -E '[0-9]+ (passed|failed|skipped|error)' "$OUT/gpu_tests.log" | tail -1); $((SECONDS - START)) s"

# ---------------------------------------------------------------- 3. benchmark
LEFT=$((BUDGET - (SECONDS - START) - 5))
if [ "$CUDA_RUNS" != 1 ] && ! grep -q ' passed' "$OUT/gpu_tests.log"; then
  summary "benchmark: SKIPPED (CUDA translation does not work here: see setup.log, gpu_tests.log)"
elif [ "$LEFT" -lt 60 ]; then
  summary "benchmark: SKIPPED (only ${LEFT} s of the ${BUDGET} s budget left)"
else
  echo "=================== mt_throughput.py --device cuda $BENCH_ARGS (stopped after ${LEFT} s)"
  # shellcheck disable=SC2086
  timeout "$LEFT" python3 benchmarks/mt_throughput.py --device cuda $BENCH_ARGS 2>&1 | tee "$OUT/mt_bench.log"
  BENCH_RC=$?
  summary "benchmark: rc $BENCH_RC$([ "$BENCH_RC" = 124 ] && echo ' (stopped at the budget: results printed so far are in mt_bench.log)'); $((SECONDS - START)) s"
fi
echo "=================== summary"; cat "$SUMMARY"
