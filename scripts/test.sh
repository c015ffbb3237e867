#!/usr/bin/env bash
# The whole test suite: installs what is missing, starts one Redis for the run, runs every
# Go test with -race, and stops what it started. `make test` calls it; so does CI.
#   CHATCHAT_SLOW=1   also run the slow suites (long load runs, the static image build)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

echo "== gofmt / go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...

work=$(mktemp -d)
redis_pid=
ferret_pid=
lint_note=
cleanup() {
  [ -z "$lint_note" ] || echo "== $lint_note"
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  [ -n "$ferret_pid" ] && kill "$ferret_pid" 2>/dev/null && wait "$ferret_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# One Redis for the whole run; each test isolates itself by key prefix.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 16379)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  --logfile "$work/redis.log" --daemonize no &
redis_pid=$!
for _ in $(seq 50); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
export CHATCHAT_TEST_REDIS_ADDR="127.0.0.1:$port"

# One MongoDB-wire server for the whole run: FerretDB (embedded, SQLite backend) behind a
# relay that lets one write through at a time, as MongoDB and DocumentDB are atomic per
# document. It is a separate module (tools/ferret), kept out of the chatchat binary.
echo "== building the MongoDB-wire test server (tools/ferret)"
ferret_bin="$work/ferret-server"
(cd tools/ferret && GOWORK=off go vet . && GOWORK=off go test -count=1 . && GOWORK=off go build -o "$ferret_bin" .)
"$ferret_bin" --listen 127.0.0.1:0 --dir "$work/ferret" > "$work/ferret.addr" 2> "$work/ferret.log" &
ferret_pid=$!
for _ in $(seq 300); do [ -s "$work/ferret.addr" ] && break; sleep 0.1; done
[ -s "$work/ferret.addr" ] || { echo "ferret-server did not start:"; cat "$work/ferret.log"; exit 1; }
export CHATCHAT_TEST_MONGO_URI="mongodb://$(head -1 "$work/ferret.addr")/?retryWrites=false&directConnection=true"
export CHATCHAT_TEST_REQUIRE_SERVERS=1

# cfn-lint comes from PyPI, which not every machine reaches: without it TestCfnLint skips,
# and the skip is said here, before the tests and again at the end, where `go test` without
# -v would not show it.
if ! command -v cfn-lint >/dev/null 2>&1; then
  lint_note="SKIPPED: CloudFormation template lint (deploy/aws): cfn-lint is not installed; get it with \`pipx install cfn-lint\` or \`pip install cfn-lint\`. The template invariants tests still run."
  echo "== $lint_note"
fi

echo "== go test -race"
go test -race -count=1 -timeout 20m ./... 2>&1 | tee "$work/go-test.log"
status=${PIPESTATUS[0]}
[ "$status" = 0 ] || exit "$status"

# The slow suite also runs every fuzz target (func FuzzXxx) for a bounded time each,
# CHATCHAT_FUZZTIME (default 30s), one at a time as `go test -fuzz` wants.
if [ "${CHATCHAT_SLOW:-0}" = 1 ]; then
  echo "== fuzz targets, ${CHATCHAT_FUZZTIME:-30s} each"
  for pkg in $(go list ./...); do
    for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
      go test -run XXX -fuzz "^${target}\$" -fuzztime "${CHATCHAT_FUZZTIME:-30s}" "$pkg"
    done
  done
fi

if [ "${CHATCHAT_SKIP_BROWSER:-0}" != 1 ]; then
  echo "== browser tests (headless Chromium)"
  bash scripts/browser-test.sh
fi
