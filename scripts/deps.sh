#!/usr/bin/env bash
# Installs what the test suite needs on a bare machine: Debian packages when missing (as
# root), nothing when they are there. Safe to run again.
set -euo pipefail

need_pkgs=()
command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
if [ "${CHATCHAT_SKIP_BROWSER:-0}" != 1 ]; then
  command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
  # Korean glyphs (the seed's language) in the browser tests' screenshots.
  [ -e /usr/share/fonts/truetype/nanum/NanumGothic.ttf ] || need_pkgs+=(fonts-nanum)
fi

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing ${need_pkgs[*]}; install them (apt-get install ${need_pkgs[*]}) or run as root" >&2
    exit 1
  fi
  echo "deps: installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
# redis-server may be installed as a service that started on install; the suite starts its
# own on a free port, so a system one is harmless.
command -v redis-server >/dev/null
