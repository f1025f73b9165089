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
# shellcheck source=../debian/debs.sh
. "$here/../debian/debs.sh"
debs="$here/debs"
root="$here/root"
staging="$here/root.partial"
mkdir -p "$debs"

rm -rf "$staging"
mkdir -p "$staging"
while read -r name version archive pool sha256 sha1; do
  case "$name" in '' | '#'*) continue ;; esac
  deb=$(fetch_deb "$debs" "$archive" "$pool" "$sha256" "$sha1")
  deb_tar "$deb" | tar -x -C "$staging" -f -
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
