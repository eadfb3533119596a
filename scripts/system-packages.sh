#!/usr/bin/env bash
# Debian packages the test suite uses: Prometheus (the prometheus collector's tests), Chromium
# with its fonts, emoji included (the browser tests, driven by Playwright), and docker-compose
# (to validate the compose file offline). Installs only what is missing, and only where apt-get
# can run; elsewhere the tests that need a package skip and say why.
set -euo pipefail

wanted=()
command -v prometheus >/dev/null 2>&1 || wanted+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || wanted+=(docker-compose)
command -v chromium >/dev/null 2>&1 || wanted+=(chromium fonts-liberation)
# The pages' badges use emoji (the AutoClone "Auto" badge); screenshots need a font for them.
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || wanted+=(fonts-noto-color-emoji)
[ ${#wanted[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-packages: not installing ${wanted[*]} (needs root and apt-get); dependent tests will skip" >&2
  exit 0
fi
echo "system-packages: installing ${wanted[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
