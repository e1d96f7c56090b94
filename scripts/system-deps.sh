#!/usr/bin/env bash
# Install the operating-system tools the project needs, when they are missing:
# ffmpeg/ffprobe (transcoding), libmagic (file sniffing), Node.js + npm (CSS/JS build), and the
# headers python-ldap builds against (LDAP sign-in).
# Installs with apt when running as root on Debian/Ubuntu; otherwise says what to install.
set -euo pipefail

missing=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
{ ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1'; } || missing+=(libmagic1)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
# python-ldap (LDAP / Active Directory sign-in, issue #18) has no wheel on PyPI: pip builds it
# against OpenLDAP's and Cyrus SASL's headers, with a C compiler and the Python headers.
[[ -f /usr/include/ldap.h ]] || missing+=(libldap2-dev)
[[ -f /usr/include/sasl/sasl.h ]] || missing+=(libsasl2-dev)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
python3 -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  2>/dev/null || missing+=(python3-dev)
if [[ "${SVL_BROWSER_TESTS:-}" == "1" ]]; then
  # The test setup: the browser tests' Chromium, and nginx to check the deploy kit's site for real.
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  { command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]]; } || missing+=(nginx)
  # The sign-in tests run a real directory server (tests/accounts/ldap_server.py starts its own
  # slapd on a free port; the package's own server is never configured or started) and make
  # its certificates with openssl.
  [[ -x /usr/sbin/slapd ]] || missing+=(slapd)
  command -v ldapmodify >/dev/null 2>&1 || missing+=(ldap-utils)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Install slapd without creating a directory or starting a system server.
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections 2>/dev/null || true
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
