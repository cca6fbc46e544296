#!/usr/bin/env bash
# The GPU checks, as one script (issue 7): the CUDA tests, the speed benchmarks on the card,
# and the default Burgers run with device=cuda.  Logs go to $OUT (default: gpu-check/).
#   bash scripts/gpu_check.sh
# Needs a CUDA torch, numpy, matplotlib, pytest and hydra-core importable by python3.
set -uo pipefail
OUT=${OUT:-gpu-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
run() {  # run NAME SECONDS CMD...: one step, its log in $OUT/NAME.log, never stopping the others
  local name=$1 secs=$2; shift 2
  echo "== $name: $*"
  timeout "$secs" "$@" 2>&1 | tee "$OUT/$name.log" | tail -40
  echo "== $name: exit ${PIPESTATUS[0]}"
}
nvidia-smi -L
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
run tests 100 $PY -m pytest -q -p no:cacheprovider -o "filterwarnings=ignore::DeprecationWarning" \
    tests/test_gpu.py tests/test_engines.py tests/test_speed_paths.py
run bench 150 $PY scripts/bench_step.py --device cuda --engines autograd func taylor --repeats 15 --memory \
    --eval-memory 1000
run bench_compile 90 $PY scripts/bench_step.py --device cuda --pdes burgers --sizes 8x20 4x256 --points 10000 50000 \
    --engines autograd taylor taylor+compile --repeats 15
run ensemble 45 $PY scripts/bench_ensemble.py --device cuda --members 8 --repeats 5 --train-steps 0
run train 100 $PY -m pinn.cli.train device=cuda hydra.run.dir="$OUT/run" plots=false
