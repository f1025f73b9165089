#!/usr/bin/env bash
# Pin Debian packages for infra/promtool/packages.lock: print one lock line per package name.
#
#   infra/promtool/lock.sh prometheus > infra/promtool/packages.lock
#
# Run it on a Debian bookworm machine after `apt-get update`: each name is looked up with
# `apt-cache show` in the machine's own package index (bookworm, bookworm-updates and
# bookworm-security, the newest version wins) and pinned to that version, pool path and
# SHA-256. The .deb is downloaded once to check the SHA-256 and compute the SHA-1:
# snapshot.debian.org serves every file ever published by that hash, so a pin still
# resolves after the mirror has moved on.
set -euo pipefail

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

grep -q 'VERSION_CODENAME=bookworm' /etc/os-release \
  || { echo "lock.sh: run on Debian bookworm (the pins are bookworm's)" >&2; exit 1; }

echo "# Debian bookworm amd64 package unpacked by infra/promtool/fetch.sh; made by lock.sh on $(date -u +%F)."
echo "# package version archive pool-path sha256 sha1"
for name in "$@"; do
  stanza=$(apt-cache show --no-all-versions "$name:amd64" 2>/dev/null || true)
  [ -n "$stanza" ] || { echo "lock.sh: apt-cache knows no package $name (apt-get update?)" >&2; exit 1; }
  version=$(sed -n 's/^Version: //p' <<<"$stanza" | head -1)
  filename=$(sed -n 's/^Filename: //p' <<<"$stanza" | head -1)
  sha256=$(sed -n 's/^SHA256: //p' <<<"$stanza" | head -1)
  archive=debian
  curl -fsSL -o "$work/deb" "$MIRROR/$archive/$filename" || {
    archive=debian-security
    curl -fsSL -o "$work/deb" "$MIRROR/$archive/$filename"
  }
  echo "$sha256  $work/deb" | sha256sum -c --quiet - >&2
  sha1=$(sha1sum "$work/deb" | cut -d' ' -f1)
  echo "$name $version $archive $filename $sha256 $sha1"
done
