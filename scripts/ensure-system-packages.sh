#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when they are missing.
# As root it uses apt-get; otherwise it says exactly what to install.
set -euo pipefail

# program -> Debian package that provides it
declare -A needed=(
  [xorriso]=xorriso
  [cupsd]=cups
  [lp]=cups-client
  [pdftotext]=poppler-utils
  [pdfinfo]=poppler-utils
  [chromium]=chromium
)
missing=()
for prog in "${!needed[@]}"; do
  command -v "$prog" >/dev/null 2>&1 || [ -x "/usr/sbin/$prog" ] || missing+=("${needed[$prog]}")
done
[ -e /usr/lib/cups/backend/cups-pdf ] || missing+=(printer-driver-cups-pdf)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "discflow: missing Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
