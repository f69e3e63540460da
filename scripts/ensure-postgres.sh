#!/usr/bin/env bash
# The PostgreSQL half of `make test` needs a server on 127.0.0.1:5432 (trust auth).
# These machines start one before the session; start it here if it has stopped.
set -euo pipefail
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ready; then exit 0; fi
if [ "$(id -u)" -eq 0 ] && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "Starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
fi
echo "discflow: PostgreSQL is not answering on 127.0.0.1:5432." >&2
echo "The test suite runs on PostgreSQL too; start it (e.g. pg_ctlcluster <version> main start)" >&2
echo "or install it with: apt-get install -y postgresql" >&2
exit 1
