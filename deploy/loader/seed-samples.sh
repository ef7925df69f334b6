#!/usr/bin/env bash
# Seeds a running fewshot-streams with the bundled samples: SHOTS images of each class (a folder
# SAMPLES/<label>/) as support events, then the other images as queries, with `produce`.
# Used by the compose stack's one-shot `loader` service; runs anywhere the jar and a broker are.
set -euo pipefail

bootstrap="${BOOTSTRAP_SERVERS:?expected BOOTSTRAP_SERVERS, for example kafka:9092}"
samples="${SAMPLES:-/samples}"
task="${TASK:-fashion-samples}"
shots="${SHOTS:-5}"
jar="${JAR:-/app/fewshot-streams.jar}"
# Seconds between the support events and the queries, so that queries meet a complete model
# rather than becoming UNKNOWN_TASK dead letters.
settle="${SETTLE_SECONDS:-20}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/support" "$work/queries"
classes=0
for dir in "$samples"/*/; do
  label="$(basename "$dir")"
  mkdir -p "$work/support/$label" "$work/queries/$label"
  i=0
  for image in "$dir"*.png; do
    if (( i < shots )); then
      cp "$image" "$work/support/$label/"
    else
      cp "$image" "$work/queries/$label/"
    fi
    i=$((i + 1))
  done
  classes=$((classes + 1))
done
if (( classes == 0 )); then
  echo "error: expected class folders under $samples, found none" >&2
  exit 2
fi

java -jar "$jar" produce --bootstrap-servers "$bootstrap" --task "$task" --as support "$work/support"
sleep "$settle"
java -jar "$jar" produce --bootstrap-servers "$bootstrap" --task "$task" --as query "$work/queries"
