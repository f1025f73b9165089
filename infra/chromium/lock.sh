#!/usr/bin/env bash
# Pin Debian packages for infra/chromium/packages.lock: print one lock line per package name.
#
#   infra/chromium/lock.sh chromium chromium-common libopus0 ... > infra/chromium/packages.lock
#
# Each name is looked up in bookworm, then bookworm-updates, then bookworm-security (the
# first index that has it wins), and pinned to that index's version, pool path and SHA-256.
# The SHA-1 is computed from the downloaded .deb: snapshot.debian.org serves every file
# ever published by that hash, so a pin still resolves after the mirror has moved on.
set -euo pipefail

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org}
RELEASE=${DEBIAN_RELEASE:-bookworm}
ARCH=${DEBIAN_ARCH:-amd64}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

indices=(
  "debian dists/$RELEASE/main/binary-$ARCH/Packages.xz"
  "debian dists/$RELEASE-updates/main/binary-$ARCH/Packages.xz"
  "debian-security dists/$RELEASE-security/main/binary-$ARCH/Packages.xz"
)
for i in "${!indices[@]}"; do
  read -r archive path <<<"${indices[$i]}"
  curl -fsSL "$MIRROR/$archive/$path" | xz -d >"$work/$i"
done

echo "# Debian $RELEASE $ARCH packages unpacked by infra/chromium/fetch.sh; made by lock.sh on $(date -u +%F)."
echo "# package version archive pool-path sha256 sha1"
for name in "$@"; do
  found=""
  for i in "${!indices[@]}"; do
    read -r archive _ <<<"${indices[$i]}"
    stanza=$(awk -v RS= -v p="$name" '$0 ~ "^Package: " p "\n" { print; exit }' "$work/$i")
    [ -n "$stanza" ] || continue
    version=$(sed -n 's/^Version: //p' <<<"$stanza")
    filename=$(sed -n 's/^Filename: //p' <<<"$stanza")
    sha256=$(sed -n 's/^SHA256: //p' <<<"$stanza")
    curl -fsSL -o "$work/deb" "$MIRROR/$archive/$filename"
    echo "$sha256  $work/deb" | sha256sum -c --quiet - >&2
    sha1=$(sha1sum "$work/deb" | cut -d' ' -f1)
    echo "$name $version $archive $filename $sha256 $sha1"
    found=yes
    break
  done
  [ -n "$found" ] || { echo "lock.sh: no package $name in $RELEASE" >&2; exit 1; }
done
