#!/usr/bin/env bash
# Unpack promtool from a pinned Debian `prometheus` package, without root.
#
#   infra/promtool/fetch.sh        (what `make test` runs before the suite)
#
# The .deb named in packages.lock comes from deb.debian.org, or, once the mirror has moved
# on, from snapshot.debian.org by its SHA-1; it is checked against its pinned SHA-256 and
# only ./usr/bin/promtool is taken out of it (`dpkg-deb --fsys-tarfile`, or ar+tar where
# dpkg-deb is missing) into infra/promtool/root/promtool. The Prometheus server, its web
# assets and its dependencies stay in the .deb: promtool is a Go binary that needs only libc.
# tests/observability/test_alert_rules.py runs it on infra/prometheus/. To move the pin:
# infra/promtool/lock.sh prometheus > infra/promtool/packages.lock.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org}
SNAPSHOT=${DEBIAN_SNAPSHOT:-https://snapshot.debian.org}
debs="$here/debs"
root="$here/root"
staging="$here/root.partial"
member=./usr/bin/promtool
mkdir -p "$debs"

fetch() {  # archive pool-path sha256 sha1 -> $debs/<file>, verified
  local archive=$1 pool=$2 sha256=$3 sha1=$4 file
  file="$debs/$(basename "$pool")"
  if [ -f "$file" ] && echo "$sha256  $file" | sha256sum -c --quiet - 2>/dev/null; then
    return
  fi
  rm -f "$file.part"
  curl -fsSL --retry 3 -o "$file.part" "$MIRROR/$archive/$pool" \
    || curl -fsSL --retry 3 -o "$file.part" "$SNAPSHOT/file/$sha1" \
    || { echo "fetch.sh: cannot download $pool from $MIRROR nor $SNAPSHOT" >&2; return 1; }
  echo "$sha256  $file.part" | sha256sum -c --quiet - \
    || { echo "fetch.sh: $pool does not match its pinned sha256" >&2; return 1; }
  mv "$file.part" "$file"
}

extract() {  # deb dir: only $member
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" -f - "$member"
  else
    local data unpack
    data=$(ar t "$1" | grep '^data\.tar')
    case "$data" in  # tar does not guess the compression of a pipe
      *.xz) unpack="xz -dc" ;;
      *.zst) unpack="zstd -dc" ;;
      *.gz) unpack="gzip -dc" ;;
      *) unpack=cat ;;
    esac
    ar p "$1" "$data" | $unpack | tar -x -C "$2" -f - "$member"
  fi
}

rm -rf "$staging"
mkdir -p "$staging/unpacked"
found=""
while read -r name version archive pool sha256 sha1; do
  case "$name" in '' | '#'*) continue ;; esac
  fetch "$archive" "$pool" "$sha256" "$sha1"
  extract "$debs/$(basename "$pool")" "$staging/unpacked"
  echo "$name $version" >>"$staging/PACKAGES"
  found=yes
done <"$here/packages.lock"
[ -n "$found" ] || { echo "fetch.sh: packages.lock names no package" >&2; exit 1; }
mv "$staging/unpacked/usr/bin/promtool" "$staging/promtool"
rm -rf "$staging/unpacked"

"$staging/promtool" --version
rm -rf "$root"
mv "$staging" "$root"
touch "$root/.complete"
