#!/usr/bin/env bash
# Renders a textclf report page in headless Chromium and saves a screenshot, to check by eye
# that the tables and charts are readable.
#
#   bench/check_report.sh path/to/report.html [out.png] [width] [height]
#
# Installs Debian's chromium with apt-get when it is missing (needs root). Prints the path
# of the PNG. Default size 1400 × 4000 pixels; the page itself is at most 1320 px wide.
set -euo pipefail

html="${1:?usage: bench/check_report.sh report.html [out.png] [width] [height]}"
[[ -f "$html" ]] || { echo "no such file: $html" >&2; exit 1; }
html="$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"
png="${2:-${html%.html}.png}"
width="${3:-1400}"
height="${4:-4000}"

browser=""
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then browser="$b"; break; fi
done
if [[ -z "$browser" ]]; then
    echo "chromium not found; installing it with apt-get" >&2
    if [[ $(id -u) -ne 0 ]]; then
        echo "need root to install chromium (apt-get install -y chromium)" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2
    browser=chromium
fi

mkdir -p "$(dirname "$png")"
png="$(cd "$(dirname "$png")" && pwd)/$(basename "$png")"
# A throwaway profile keeps the run independent of any user profile.
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$profile" --screenshot="$png" \
    --window-size="$width,$height" "file://$html" >/dev/null 2>&1 || true
if [[ ! -s "$png" ]]; then
    echo "no screenshot was written (is $browser working?)" >&2
    exit 1
fi
echo "$png"
