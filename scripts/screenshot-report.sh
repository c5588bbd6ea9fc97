#!/usr/bin/env bash
# Screenshot a job's index.html with headless Chromium (Debian package `chromium`).
# usage: scripts/screenshot-report.sh JOB_DIR [OUT.png] [WIDTHxHEIGHT]
set -euo pipefail
job=${1:?usage: $0 JOB_DIR [OUT.png] [WIDTHxHEIGHT]}
out=${2:-$job/index.png}
size=${3:-1280x900}
page="$(cd "$job" && pwd)/index.html"
[ -f "$page" ] || { echo "$page: no job report here" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser) || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --allow-file-access-from-files \
  --user-data-dir="$profile" --virtual-time-budget=10000 --window-size="${size/x/,}" \
  --screenshot="$(realpath -m "$out")" "file://$page" 2>/dev/null
echo "$out"
