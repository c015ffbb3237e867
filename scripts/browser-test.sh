#!/usr/bin/env bash
# Browser tests of the web client: installs what they need (Debian's Chromium, as root, and
# playwright-core from web/e2e/package-lock.json), builds the binary, serves it on a free
# port with a temporary data dir, runs web/e2e with node's test runner, and stops the
# server. Exits non-zero when a test fails. Screenshots of each step: web/e2e/artifacts/.
# Arguments name test files of web/e2e to run alone (default: all), e.g. admin.test.js.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
# Emoji and CJK glyphs, so that screenshots show what people type (cosmetic only).
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need_apt+=(fonts-noto-color-emoji)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "browser tests need: ${need_apt[*]} (run as root to install them with apt-get)" >&2
    exit 1
  fi
  echo "== apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

echo "== npm ci (web/e2e)"
(cd web/e2e && npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== go build"
go build -o "$work/chatchat" ./cmd/chatchat

# Port 0: the server picks a free port and prints the URL to open. Access tokens live 20 s,
# so that the tests go through silent refreshes (one of them waits for an expiry).
"$work/chatchat" serve --addr 127.0.0.1:0 --data-dir "$work/data" --log-level warn \
  --rate-signup 0 --rate-send 0 --rate-login 0 --rate-rooms 0 --argon2-memory 1024 --argon2-iterations 1 \
  --access-token-ttl 20s \
  >"$work/stdout.log" 2>"$work/server.log" &
server_pid=$!
url=
for _ in $(seq 300); do
  url=$(sed -nE 's/.*open (http:\/\/[^ ]+).*/\1/p' "$work/stdout.log" | head -n1)
  [ -n "$url" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "server exited:" >&2; cat "$work/server.log" >&2; exit 1
  fi
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "server did not start within 30 s" >&2; cat "$work/server.log" >&2; exit 1
fi
echo "== browser tests against $url"

status=0
# The binary and its data dir let a test act as the operator (chatchat admin grant).
(cd web/e2e && CHATCHAT_URL="$url" CHATCHAT_BIN="$work/chatchat" CHATCHAT_DATA_DIR="$work/data" \
  node --test --test-reporter=spec "$@") || status=$?
if [ "$status" != 0 ]; then
  echo "== server log" >&2
  tail -n 100 "$work/server.log" >&2
fi
echo "screenshots: web/e2e/artifacts/"
exit "$status"
