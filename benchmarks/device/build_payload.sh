#!/usr/bin/env bash
# Builds .devrun/site.tar.xz: the Python packages the GPU device machine lacks for corpusforge's
# MT path (apache-beam, ctranslate2 and their missing requirements), installed for CPython 3.12
# x86-64 as `pip install --target` lays them out, trimmed, with ctranslate2 patched for CUDA 13.
# Runs HERE (not on the device). Needs: a CPython 3.12 at $PY312 (for pip --target), binutils
# (strip, readelf), xz. Downloads cp312 manylinux wheels into $DL (cache).
#
# What the ctranslate2 patch does: PyPI's ctranslate2 4.8.5 links no cuBLAS at all; its stub
# (cublas_stub.cc) dlopen()s "libcublas.so.12" and dlsym()s each function by unversioned name
# (cublasCreate_v2, cublasGemmEx, ...). So there is no DT_NEEDED and no symbol-version requirement
# to rewrite with patchelf: the one string "libcublas.so.12\0" is replaced, in place and at the
# same length, by "libcublas.so.13\0". libcublas.so.13 then pulls libcublasLt.so.13 itself.
# cuDNN is not used by ctranslate2's CPU/GPU text models (no libcudnn string in the library);
# the CUDA runtime is linked statically (CUDA 12; needs driver >= 525).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY312=${PY312:-$HOME/.pyenv/versions/3.12.1/bin/python}
DL=${DL:-/tmp/dl}
STAGE=${STAGE:-/tmp/devrun_stage}
PLATFORMS="--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64"

# Not on the device (KINDS.md, 2026-11-17 list). Versions = the project's working .venv.
# apache-beam's required deps the device lacks, and the MT path's own (langcodes, sentencex).
WHEELS=(
  apache-beam==2.77.0 ctranslate2==4.8.5
  cryptography==50.0.2 cffi==2.1.1 pycparser==3.12 fastavro==1.13.1 fasteners==0.20
  httplib2==0.32.1 jsonpickle==4.1.4 objsize==0.7.1 pymongo==4.20.1 dnspython==2.9.2
  proto-plus==1.29.0 pytz==2026.6 zstandard==0.25.0 beartype==0.22.9
  langcodes==3.5.1 sentencex==1.0.32
)
# The device has protobuf, version unknown: this one is used only when the device's is outside
# [6.33.5, 7) (proto-plus 1.29 asks >= 6.33.5, apache-beam < 7); gpu_check.sh decides.
PROTOBUF=protobuf==6.33.6

mkdir -p "$DL"
"$PY312" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  $PLATFORMS -d "$DL" "${WHEELS[@]}" "$PROTOBUF"

rm -rf "$STAGE" && mkdir -p "$STAGE/site" "$STAGE/protobuf"
whl() { for spec in "$@"; do n=${spec%%==*}; v=${spec##*==}; n=${n//-/_}; ls "$DL"/${n}-${v}-*.whl; done; }
"$PY312" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$STAGE/site" $(whl "${WHEELS[@]}")
"$PY312" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$STAGE/protobuf" $(whl "$PROTOBUF")

cd "$STAGE/site"
rm -rf bin                                   # console scripts with this machine's shebang
rm -rf apache_beam/examples                  # not imported by the SDK
find apache_beam -name "*_test.py" -delete   # Beam's own unit tests
find . -name __pycache__ -prune -exec rm -rf {} +
# Debug info only (69 MB -> 1.8 MB for ctranslate2/_ext, ~50 MB off Beam's Cython modules).
# libctranslate2 and libgomp carry none and stay byte-identical apart from the patch below.
for f in $(find . -name "*.so*" -type f); do
  case $f in *libctranslate2*|*libgomp*) continue ;; esac
  if readelf -S -W "$f" | grep -q '\.debug_'; then strip --strip-debug "$f"; fi
done

LIB=$(ls ctranslate2.libs/libctranslate2-*.so*)
"$PY312" - "$LIB" <<'EOF'
import sys
path = sys.argv[1]
data = open(path, "rb").read()
old, new = b"\x00libcublas.so.12\x00", b"\x00libcublas.so.13\x00"
assert data.count(old) == 1, f"expected one {old!r}, found {data.count(old)}"
data = data.replace(old, new)
for leftover in (b"libcublas.so.12", b"libcublasLt.so.12", b"libcudnn"):
    assert leftover not in data, leftover
open(path, "wb").write(data)
print(f"patched {path}: libcublas.so.12 -> libcublas.so.13")
EOF
# Checks: no cuBLAS in DT_NEEDED, no cuBLAS symbol-version requirement, the cuBLAS entry points are
# the library's own stubs (defined, not undefined imports).
fail() { echo "CHECK FAILED: $*" >&2; exit 1; }
if readelf -d "$LIB" | grep -i cublas; then fail "cuBLAS in DT_NEEDED"; fi
if readelf -V -W "$LIB" | grep -iE 'cublas|libcuda|cudnn'; then fail "cuBLAS/CUDA version need"; fi
if readelf --dyn-syms -W "$LIB" | awk '$7 == "UND"' | grep -i cublas; then fail "undefined cuBLAS symbol"; fi
strings -a "$LIB" | grep -x 'libcublas.so.13' || fail "patched name missing"
echo "checks passed: no cuBLAS DT_NEEDED, no cuBLAS/CUDA symbol versions, cuBLAS entry points are defined stubs"
echo "$(date -u +%FT%TZ) ctranslate2 4.8.5 patched: libcublas.so.12 -> libcublas.so.13" > PATCHED_CTRANSLATE2.txt

cd "$STAGE"
tar -cf - site protobuf | xz -T0 -9 > "$HERE/site.tar.xz"
ls -la "$HERE/site.tar.xz"
