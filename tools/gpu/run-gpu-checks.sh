#!/usr/bin/env bash
# The GPU path on an NVIDIA machine, in one go:
#   1. build with -Pgpu (the onnxruntime_gpu artifact instead of onnxruntime);
#   2. run CudaProviderTest, and fail if it was skipped (no CUDA provider or no device);
#   3. export a random-weights torchvision ResNet-18 (RGB 224x224) with tools/export, unless
#      RESNET_CARD names a card exported before;
#   4. run `bench --suite pipeline` on the GPU and then on the CPU, same settings, and print both.
# Results go to $OUT_DIR (default: target/gpu-checks). Nothing is downloaded except what Maven
# needs for -Pgpu; on a machine without network, pass MVN_FLAGS=-o with a filled ~/.m2.
#
# Usage, from anywhere in the repository:
#   tools/gpu/run-gpu-checks.sh
#   RESNET_CARD=/tmp/resnet18-random/model-card.json MVN_FLAGS=-o tools/gpu/run-gpu-checks.sh
set -euo pipefail

cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
OUT_DIR=${OUT_DIR:-target/gpu-checks}
MVN_FLAGS=${MVN_FLAGS:-}
BATCHES=${BATCHES:-1,8,32}
mkdir -p "$OUT_DIR"

echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || {
  echo "nvidia-smi failed: no NVIDIA driver here" >&2
  exit 1
}
nproc

echo "== 1. build with -Pgpu"
# shellcheck disable=SC2086
mvn -B -q $MVN_FLAGS -Pgpu package -DskipTests

echo "== 2. CUDA provider test"
# shellcheck disable=SC2086
mvn -B $MVN_FLAGS -Pgpu test -Dtest=CudaProviderTest -Dsurefire.failIfNoSpecifiedTests=false \
  | tee "$OUT_DIR/cuda-provider-test.log" | grep -E "Tests run|FAIL|ERROR" || true
report=target/surefire-reports/TEST-io.fewshotstreams.embedding.CudaProviderTest.xml
if ! grep -q 'tests="1"' "$report" || ! grep -q 'skipped="0"' "$report" \
    || ! grep -q 'failures="0"' "$report" || ! grep -q 'errors="0"' "$report"; then
  echo "CudaProviderTest did not pass (skipped or failed); see $report" >&2
  exit 1
fi

echo "== 3. RGB-224 backbone"
card=${RESNET_CARD:-}
if [[ -z "$card" ]]; then
  /usr/bin/python3 tools/export/export_backbone.py --arch resnet18 --out "$OUT_DIR/resnet18-random"
  card="$OUT_DIR/resnet18-random/model-card.json"
fi

echo "== 4. pipeline benchmark, GPU then CPU"
for device in cuda cpu; do
  java -jar target/fewshot-streams.jar bench --suite pipeline --model "$card" --device "$device" \
    --photos src/test/resources/photos --batch-sizes "$BATCHES" --embed-repeats 5 \
    --images-per-repeat 256 --megapixels 1,3,12 2>&1 | grep -v " INFO " \
    | tee "$OUT_DIR/bench-pipeline-$device.txt"
done
echo "results in $OUT_DIR"
