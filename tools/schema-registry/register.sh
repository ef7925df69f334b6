#!/usr/bin/env bash
# Registers the topic schemas in schemas/ with a Confluent-compatible Schema Registry over its REST
# API, as JSON Schema, under the topic-name strategy's subjects (<topic>-value), and prints the id
# the registry gave each one. Needs curl and jq; nothing else.
#
#   tools/schema-registry/register.sh http://registry:8081
#
# Topic names follow the service's defaults; override them as the service's settings do:
#   SUPPORT_TOPIC, QUERIES_TOPIC, PREDICTIONS_TOPIC, MODELS_TOPIC, DEAD_LETTERS_TOPIC.
# Credentials stay off the command line: SCHEMA_REGISTRY_USER_INFO=user:password in the
# environment is handed to curl on its standard input (HTTP basic authentication).
# DRY_RUN=1 prints each request instead of sending it.
set -euo pipefail

usage() {
  echo "usage: $0 REGISTRY_URL   (for example http://localhost:8081)" >&2
  exit 2
}
[[ $# -eq 1 ]] || usage
registry="${1%/}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
schemas="$here/../../schemas"

for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "error: expected $tool on the PATH, found none" >&2; exit 2; }
done

# topic | schema file: the service reads support, queries and feedback and writes the others
pairs=(
  "${SUPPORT_TOPIC:-fewshot-support}|support.schema.json"
  "${QUERIES_TOPIC:-fewshot-queries}|query.schema.json"
  "${PREDICTIONS_TOPIC:-fewshot-predictions}|prediction.schema.json"
  "${MODELS_TOPIC:-fewshot-models}|model.schema.json"
  "${DEAD_LETTERS_TOPIC:-fewshot-dead-letters}|dead-letter.schema.json"
  "${FEEDBACK_TOPIC:-fewshot-feedback}|feedback.schema.json"
  "${OUTCOMES_TOPIC:-fewshot-outcomes}|outcome.schema.json"
  "${REVIEW_TOPIC:-fewshot-review}|review.schema.json"
)

post() { # subject, body
  local url="$registry/subjects/$1/versions"
  if [[ "${DRY_RUN:-0}" == 1 ]]; then
    printf 'POST %s %s\n' "$url" "$2" >&2
    echo '{"id":0}'
    return
  fi
  local auth=""
  if [[ -n "${SCHEMA_REGISTRY_USER_INFO:-}" ]]; then
    auth="user = \"${SCHEMA_REGISTRY_USER_INFO}\""
  fi
  printf '%s\n' "$auth" | curl --silent --show-error --fail-with-body --config - \
    -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    --data-binary "$2" "$url"
}

for pair in "${pairs[@]}"; do
  topic="${pair%%|*}"
  file="$schemas/${pair##*|}"
  [[ -f "$file" ]] || { echo "error: expected the schema $file, found no such file" >&2; exit 2; }
  body="$(jq -c -n --rawfile schema "$file" '{schemaType: "JSON", schema: $schema}')"
  if ! response="$(post "$topic-value" "$body")"; then
    echo "error: $topic-value: expected the registry to accept ${pair##*|}, found: $response" >&2
    exit 1
  fi
  id="$(jq -r '.id // empty' <<<"$response" 2>/dev/null || true)"
  [[ -n "$id" ]] || { echo "error: $topic-value: expected {\"id\":N} back, found: $response" >&2; exit 1; }
  printf '%s\t%s\n' "$topic-value" "$id"
done
