#!/usr/bin/env bash
# The client journey with curl and unzip: start, poll, page the log and tail it, the ZIP and its JSON
# form, cancel and resume from the checkpoint, history, and one refused request. JSON is read with
# python3 (no jq needed).
#
#   bash journey.sh http://127.0.0.1:4502
#
# Run it against `aem-guides-mock serve --clock per-poll:100ms`: each status poll moves the mock's
# clock, so the journey is the same on every run. Credentials: AEM_USER and AEM_PASSWORD (admin/admin).
# Exits 1 naming the first thing that differed from what the contract promises.
set -euo pipefail

api="${1:-http://127.0.0.1:4502}/bin/guides/v1/assets/process"
user="${AEM_USER:-admin}:${AEM_PASSWORD:-admin}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fail() { echo "journey.sh: $*" >&2; exit 1; }

# json EXPRESSION: evaluate a Python expression on the JSON document read from stdin (as `j`);
# lists print one item a line, everything else as JSON.
json() {
  python3 -c '
import json, sys
j = json.load(sys.stdin)
value = eval(sys.argv[1])
if isinstance(value, list):
    print("\n".join(str(item) for item in value))
else:
    print(value if isinstance(value, str) else json.dumps(value))
' "$1"
}

# expect WHAT GOT WANTED
expect() { [ "$2" == "$3" ] || fail "$1: expected '$3', got '$2'"; }

get() { curl --silent --show-error --fail --max-time 10 --user "$user" "$api$1"; }
post() {
  curl --silent --show-error --fail --max-time 10 --user "$user" \
       --header 'Content-Type: application/json' --data "$2" "$api$1"
}

# poll ID CONDITION: read the status until the Python condition on `j` holds; print the last status.
poll() {
  local status
  for _ in $(seq 200); do
    status="$(get "/status?processingId=$1")"
    if [ "$(json "$2" <<< "$status")" == "true" ]; then echo "$status"; return; fi
    sleep 0.01
  done
  fail "job $1 did not get there in 200 polls: $status"
}
ended='j["status"] in ("SUCCESS", "FAILED", "CANCELLED")'

# One refused request: a start without `path`, whose JSON error body names the field.
code="$(curl --silent --max-time 10 --user "$user" --header 'Content-Type: application/json' \
             --data '{"type": "ASSET_PROCESSING"}' --output "$work/error.json" \
             --write-out '%{http_code} %{content_type}' "$api")"
expect "a start without path: status" "${code%% *}" "400"
expect "its content type" "${code#* }" "application/json"
expect "the error's status" "$(json 'j["status"]' < "$work/error.json")" "400"
expect "the error names path" "$(json '"`path`" in j["message"]' < "$work/error.json")" "true"
expect "the violation's place" "$(json 'j["violations"][0]["where"]' < "$work/error.json")" "body:/path"

# Start, poll to the end.
id="$(post "" '{"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}' | json 'j["processingId"]')"
job="$(poll "$id" "$ended")"
expect "the job's status and count" "$(json '[j["status"], j["triggeredCount"]]' <<< "$job" | paste -sd' ')" \
       "SUCCESS 6"

# Page the log to its end, then tail it.
: > "$work/pages.txt"
offset=0
while :; do
  page="$(get "/logs?processingId=$id&offset=$offset&limit=4")"
  expect "the page's offset" "$(json 'j["offset"]' <<< "$page")" "$offset"
  json 'j["lines"]' <<< "$page" | sed '/^$/d' >> "$work/pages.txt"
  offset="$(wc -l < "$work/pages.txt")"
  [ "$(json 'j["hasMore"]' <<< "$page")" == "true" ] || break
done
expect "the log's length" "$offset" "10"
grep -q 'completed \[status=SUCCESS\]' <(tail -n 1 "$work/pages.txt") || fail "the last line does not end the job"
tail="$(get "/logs?processingId=$id&tail=3")"
json 'j["lines"]' <<< "$tail" > "$work/tail.txt"
cmp -s "$work/tail.txt" <(tail -n 3 "$work/pages.txt") || fail "tail=3 differs from the pages' last 3 lines"
expect "tail's offset and hasMore" "$(json '[j["offset"], j["hasMore"]]' <<< "$tail" | paste -sd' ')" "7 False"

# The ZIP: saved as curl names it, listed and read with unzip, its lines compared with the pages.
headers="$(cd "$work" && curl --silent --show-error --fail --max-time 10 --user "$user" \
           --remote-name --remote-header-name --dump-header - "$api/logs/download?processingId=$id")"
grep -qi '^content-type: application/zip' <<< "$headers" || fail "the download is not a ZIP: $headers"
[ -f "$work/$id.zip" ] || fail "the download is not named $id.zip: $headers"
unzip -tq "$work/$id.zip" > /dev/null || fail "unzip finds the ZIP broken"
expect "the ZIP's entries" "$(unzip -Z1 "$work/$id.zip")" "$id.log"
cmp -s <(unzip -p "$work/$id.zip" "$id.log") "$work/pages.txt" || fail "the ZIP's lines differ from the pages"

# The JSON download form.
paths="$(curl --silent --show-error --fail --max-time 10 --user "$user" --header 'Accept: application/json' \
         "$api/logs/download?processingId=$id" | json 'j["logFilePaths"]')"
[[ "$paths" == */"$id.log" ]] || fail "logFilePaths does not name the job's log: $paths"

# Cancel part-way, resume from the checkpoint, poll to the end: no asset processed twice.
second="$(post "" '{"path": "/content/dam/status-fetch1", "type": "ASSET_PROCESSING"}' | json 'j["processingId"]')"
poll "$second" "j[\"triggeredCount\"] >= 2 or $ended" > /dev/null
cancelled="$(post /cancel "{\"processingId\": \"$second\"}")"
expect "cancel: status and resumable" "$(json '[j["status"], j["resumable"]]' <<< "$cancelled" | paste -sd' ')" \
       "CANCELLED True"
done_count="$(json 'j["triggeredCount"]' <<< "$cancelled")"
total="$(json 'j["migrationSet"]["totalFiles"]' <<< "$cancelled")"
[ "$done_count" -gt 0 ] && [ "$done_count" -lt "$total" ] || fail "not cancelled part-way: $done_count/$total"
expect "a cancelled job stays" "$(get "/status?processingId=$second" | json '[j["status"], j["triggeredCount"]]' \
       | paste -sd' ')" "CANCELLED $done_count"
resumed="$(post /resume "{\"processingId\": \"$second\"}")"
case "$(json 'j["status"]' <<< "$resumed")" in WAITING|IN_PROGRESS) ;; *) fail "resume: $resumed" ;; esac
expect "resume keeps the checkpoint" "$(json 'j["triggeredCount"]' <<< "$resumed")" "$done_count"
expect "the resumed job" "$(poll "$second" "$ended" | json '[j["status"], j["triggeredCount"]]' | paste -sd' ')" \
       "SUCCESS $total"
get "/logs?processingId=$second" | json 'j["lines"]' > "$work/second.txt"
processed="$(grep -o 'Processing asset \[[0-9]*/[0-9]*\] [^ ]*' "$work/second.txt" | cut -d' ' -f4)"
expect "asset lines" "$(wc -l <<< "$processed")" "$total"
expect "assets processed (each once)" "$(sort -u <<< "$processed" | wc -l)" "$total"
grep -q 'resumed from checkpoint' "$work/second.txt" || fail "the log does not say it resumed"

# History lists both jobs, newest first.
expect "history's newest two" "$(get /history | json '[item["processingId"] for item in j["executionHistory"]][:2]' \
       | paste -sd' ')" "$second $id"

echo "journey.sh: every step kept the contract"
