#!/usr/bin/env bash
# Wall-clock profile of the service's stream thread in steady state, and its breakdown.
#
# Runs `bench --suite end-to-end` (one guarantee) in a JVM that async-profiler 4.0 samples in
# wall-clock mode, with a thread filter holding only the service's stream thread, over exactly the
# measured steady-state span (StreamThreadProfile.java starts and stops it on the bench's lines).
# Then prints the share of each kind of work and its time per query (breakdown.py).
#
#   tools/profile/stream-thread.sh                      # exactly-once, 20,000 measured queries
#   QUERIES=5000 GUARANTEE=at_least_once tools/profile/stream-thread.sh --service-setting k=v
#
# The profiler comes from Maven Central (tools.profiler:async-profiler:4.0, which carries its
# native library) into target/async-profiler; nothing is committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
QUERIES=${QUERIES:-20000}
GUARANTEE=${GUARANTEE:-exactly_once_v2}
INTERVAL=${INTERVAL:-1ms}
OUT=${OUT:-target/profile}
AP=target/async-profiler
case "$(uname -m)" in
  x86_64) PLATFORM=linux-x64 ;;
  aarch64) PLATFORM=linux-arm64 ;;
  *) echo "expected an x86_64 or aarch64 Linux machine, found $(uname -m)" >&2; exit 2 ;;
esac
APJAR=$AP/async-profiler-4.0-$PLATFORM.jar
if [ ! -f target/fewshot-streams.jar ]; then
  mvn -B -q -o package -DskipTests
fi
if [ ! -f "$AP/$PLATFORM/libasyncProfiler.so" ]; then
  mvn -B -q dependency:copy -Dartifact=tools.profiler:async-profiler:4.0:jar:$PLATFORM \
    -DoutputDirectory="$AP"
  (cd "$AP" && unzip -q -o "$(basename "$APJAR")")
fi
mkdir -p "$OUT"
rm -f "$OUT/stream-thread.collapsed"
# DebugNonSafepoints: Java frames where the sample fell, not at the nearest safepoint.
java -XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints \
  -cp "target/fewshot-streams.jar:target/lib/*:$APJAR" \
  tools/profile/StreamThreadProfile.java "$PWD/$AP/$PLATFORM/libasyncProfiler.so" \
  "$OUT/stream-thread.collapsed" "$INTERVAL" \
  bench --suite end-to-end --guarantees "$GUARANTEE" --e2e-queries "$QUERIES" \
  --loads 0.5 --latency-seconds 1 "$@" | tee "$OUT/bench.txt"
/usr/bin/python3 tools/profile/breakdown.py "$OUT/stream-thread.collapsed" "$OUT/bench.txt" \
  | tee "$OUT/breakdown.txt"
