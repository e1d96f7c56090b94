#!/usr/bin/env bash
# Install the operating-system tools the project needs, when they are missing:
# ffmpeg/ffprobe (transcoding), libmagic (file sniffing), Node.js + npm (CSS/JS build).
# Installs with apt when running as root on Debian/Ubuntu; otherwise says what to install.
set -euo pipefail

missing=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
{ ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1'; } || missing+=(libmagic1)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [[ "${SVL_BROWSER_TESTS:-}" == "1" ]]; then
  # The test setup: the browser tests' Chromium, and nginx to check the deploy kit's site for real.
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  { command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]]; } || missing+=(nginx)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

cat >&2 <<MSG
Missing system packages: ${missing[*]}
Install them, then run make again, e.g. on Debian/Ubuntu:
    sudo apt-get install ${missing[*]}
(Node.js 20 or newer is needed for the Tailwind build.)
MSG
exit 1
