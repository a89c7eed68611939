#!/usr/bin/env bash
# The GPU check: on a CUDA machine with ../shared/data, in under 5 minutes.
#   bash bench/gpu_check.sh [OUT_DIR]
# 1. tlspec against hand-written Keras on cats-vs-dogs (bench/end_to_end.py, one interleaved pair);
# 2. tlspec's train.precision × train.jit_compile on the same spec: wall time, fit times, test accuracy.
# Nothing here is needed by the project; CPU-only machines measure the same table with this script.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d -t gpu_check-XXXX)}
mkdir -p "$out"
[ -x .venv/bin/python ] || make setup >/dev/null
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || echo "no GPU found: measuring on CPU"
.venv/bin/python -c "import tensorflow as tf; print('TensorFlow', tf.__version__, 'GPUs:', tf.config.list_physical_devices('GPU'))"

timeout 150 .venv/bin/python bench/end_to_end.py --pairs 1 --keep "$out/end_to_end" | tee "$out/end_to_end.md"

echo; echo "| precision | jit_compile | wall s | head fit s | fine-tune fit s | test accuracy |"; echo "|---|---|---|---|---|---|"
for precision in float32 mixed_float16 mixed_bfloat16; do
  for jit in auto false; do
    run="$out/$precision-$jit"
    began=$(date +%s.%N)
    if timeout 60 .venv/bin/tlspec train specs/cats_dogs_mobilenet.yaml --out "$run" --quiet \
        --set train.precision=$precision --set train.jit_compile=$jit > "$run.log" 2>&1; then
      ended=$(date +%s.%N)
      .venv/bin/python - "$run" "$began" "$ended" "$precision" "$jit" <<'PY'
import json, sys
run, began, ended, precision, jit = sys.argv[1:]
timings = json.load(open(f"{run}/run.json"))["timings"]
accuracy = json.load(open(f"{run}/metrics.json"))["test"]["animal"]["accuracy"]
print(f"| {precision} | {jit} | {float(ended) - float(began):.1f} | {timings['phase head: fit']:.1f} | "
      f"{timings['phase finetune: fit']:.1f} | {accuracy:.4f} |")
PY
    else
      echo "| $precision | $jit | failed: $(tail -1 "$run.log") | | | |"
    fi
  done
done
