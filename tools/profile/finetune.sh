#!/usr/bin/env bash
# CPU profile of fine-tuning at many classes: where the time of a 100-way transductive fit goes.
#
#   tools/profile/finetune.sh                 # 100-way 5-shot, 15 queries per class, d = 256
#   WAYS=20 REPEATS=100 tools/profile/finetune.sh
#
# Runs `bench --suite finetune` for one method with async-profiler 4.0 (CPU time by itimer, from
# the start: the warm-up fits are profiled too, the same code at these sizes) into a JFR file, whose
# frames carry line numbers; the JDK's `jfr print --json` reads it and hot-lines.py charges each
# sample to the deepest line of the project's code.
set -euo pipefail
cd "$(dirname "$0")/../.."
WAYS=${WAYS:-100}
REPEATS=${REPEATS:-20}
METHOD=${METHOD:-transductive}
OUT=${OUT:-target/profile}
AP=target/async-profiler
case "$(uname -m)" in
  x86_64) PLATFORM=linux-x64 ;;
  aarch64) PLATFORM=linux-arm64 ;;
  *) echo "expected an x86_64 or aarch64 Linux machine, found $(uname -m)" >&2; exit 2 ;;
esac
if [ ! -f target/fewshot-streams.jar ]; then
  mvn -B -q -o package -DskipTests
fi
if [ ! -f "$AP/$PLATFORM/libasyncProfiler.so" ]; then
  mvn -B -q dependency:copy -Dartifact=tools.profiler:async-profiler:4.0:jar:$PLATFORM \
    -DoutputDirectory="$AP"
  (cd "$AP" && unzip -q -o "async-profiler-4.0-$PLATFORM.jar")
fi
mkdir -p "$OUT"
java -XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints \
  "-agentpath:$PWD/$AP/$PLATFORM/libasyncProfiler.so=start,event=itimer,interval=1ms,jfr,file=$OUT/finetune.jfr" \
  -jar target/fewshot-streams.jar bench --suite finetune --ways "$WAYS" --shots 5 \
  --methods "$METHOD" --repeats "$REPEATS" | tee "$OUT/finetune.txt"
jfr print --json --events jdk.ExecutionSample "$OUT/finetune.jfr" > "$OUT/finetune-samples.json"
/usr/bin/python3 tools/profile/hot-lines.py "$OUT/finetune-samples.json" | tee "$OUT/finetune-lines.txt"
