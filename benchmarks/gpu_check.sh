#!/usr/bin/env bash
# Everything linvit checks on a GPU, in one go, printing everything: the tests marked `cuda`, then the GPU
# benchmarks with short settings (bfloat16 autocast, as GPU users run). About 5 minutes on an H100, each
# step bounded by a timeout (8 minutes in all at most); a failed step is reported and the next one runs.
#
#   bash benchmarks/gpu_check.sh            # from the repository root, with linvit's dependencies installed
#   PYTHON=/path/to/python bash benchmarks/gpu_check.sh
#
# Needs torch with CUDA (Triton comes with its Linux wheels), the `test` extra, and for VideoMAE-B the
# `bench` extra (transformers). Runs from a checkout without installing linvit (PYTHONPATH).
set -u
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
unset TRITON_INTERPRET LINVIT_KERNELS
status=()

step() {  # step SECONDS NAME COMMAND...: run one step under a timeout, note its exit code
    local seconds=$1 name=$2
    shift 2
    echo
    echo "=== $name ($(date +%T), at most ${seconds} s)"
    local start=$SECONDS
    timeout --kill-after=10 "$seconds" "$@"
    local code=$?
    echo "=== $name: exit $code, $((SECONDS - start)) s"
    status+=("$name: exit $code, $((SECONDS - start)) s")
}

nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv || true
"$PYTHON" -c "import torch, triton; print('torch', torch.__version__, 'CUDA', torch.version.cuda, '| triton',
triton.__version__, '|', torch.cuda.get_device_name(), torch.cuda.get_device_capability())"

step 120 "pytest -m cuda" "$PYTHON" -m pytest -q -m cuda -p no:cacheprovider
step 60 "roofline on paper (no GPU used)" "$PYTHON" benchmarks/roofline_videomamba.py --frames 16
step 75 "bench_videomamba 16 frames bf16" \
    "$PYTHON" benchmarks/bench_videomamba.py --device cuda --dtype bfloat16 --frames 16 --repeats 3
step 100 "bench_videomamba 64 frames bf16" \
    "$PYTHON" benchmarks/bench_videomamba.py --device cuda --dtype bfloat16 --frames 64 --repeats 2
step 120 "bench_peers bf16" "$PYTHON" benchmarks/bench_peers.py --device cuda --dtype bfloat16 --frames 16 64 \
    --models videomamba-s lvit-k400 videomae-b --repeat 2 --batches 1 4 16

echo
echo "=== summary"
printf '%s\n' "${status[@]}"
