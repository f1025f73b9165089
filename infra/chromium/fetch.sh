#!/usr/bin/env bash
# Unpack a pinned Debian Chromium, and the shared libraries this machine lacks, without root.
#
#   infra/chromium/fetch.sh        (what `make test` runs before the suite)
#
# The .debs named in packages.lock come from deb.debian.org, or, once the mirror has moved
# on, from snapshot.debian.org by their SHA-1; each is checked against its pinned SHA-256 and
# unpacked with `dpkg-deb -x` (or ar+tar where dpkg-deb is missing) into infra/chromium/root/.
# root/chromium is a wrapper that points the loader at the unpacked libraries and fontconfig
# at the unpacked fonts (Nanum: the report names NanumGothic for Hangul). The script ends
# with `ldd`: a library still missing fails it here, naming the library, not in a test.
# To add a package or move the pins: infra/chromium/lock.sh NAME... > packages.lock.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org}
SNAPSHOT=${DEBIAN_SNAPSHOT:-https://snapshot.debian.org}
debs="$here/debs"
root="$here/root"
staging="$here/root.partial"
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

unpack() {  # deb dir
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb -x "$1" "$2"
  else
    local data
    data=$(ar t "$1" | grep '^data\.tar')
    ar p "$1" "$data" | tar -x -C "$2" -a -f - 2>/dev/null \
      || ar p "$1" "$data" | tar -x -C "$2" --use-compress-program=unzstd -f -
  fi
}

rm -rf "$staging"
mkdir -p "$staging"
while read -r name version archive pool sha256 sha1; do
  case "$name" in '' | '#'*) continue ;; esac
  fetch "$archive" "$pool" "$sha256" "$sha1"
  unpack "$debs/$(basename "$pool")" "$staging"
  echo "$name $version" >>"$staging/PACKAGES"
done <"$here/packages.lock"

libs="$root/usr/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu/pulseaudio"
cat >"$staging/fonts.conf" <<CONF
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>$root/usr/share/fonts</dir>
  <cachedir>$root/fontconfig-cache</cachedir>
</fontconfig>
CONF
cat >"$staging/chromium" <<WRAPPER
#!/bin/sh
# Made by infra/chromium/fetch.sh: the unpacked Chromium with its unpacked libraries and fonts.
export LD_LIBRARY_PATH="$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export FONTCONFIG_FILE="$root/fonts.conf"
exec "$root/usr/lib/chromium/chromium" "\$@"
WRAPPER
chmod +x "$staging/chromium"

rm -rf "$root"
mv "$staging" "$root"

missing=$(LD_LIBRARY_PATH="$libs" ldd "$root/usr/lib/chromium/chromium" | grep 'not found' | sort -u || true)
if [ -n "$missing" ]; then
  rm -f "$root/.complete"
  echo "fetch.sh: Chromium still lacks these libraries; add their packages to packages.lock:" >&2
  echo "$missing" >&2
  exit 1
fi
"$root/chromium" --headless --no-sandbox --version
touch "$root/.complete"
