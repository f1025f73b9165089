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
# shellcheck source=../debian/debs.sh
. "$here/../debian/debs.sh"
debs="$here/debs"
root="$here/root"
staging="$here/root.partial"
member=./usr/bin/promtool
mkdir -p "$debs"

rm -rf "$staging"
mkdir -p "$staging/unpacked"
found=""
while read -r name version archive pool sha256 sha1; do
  case "$name" in '' | '#'*) continue ;; esac
  deb=$(fetch_deb "$debs" "$archive" "$pool" "$sha256" "$sha1")
  deb_tar "$deb" | tar -x -C "$staging/unpacked" -f - "$member"
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
