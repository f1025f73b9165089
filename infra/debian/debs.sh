# Pinned Debian packages for the project's test tools, fetched and unpacked without root.
# Sourced by infra/chromium/fetch.sh and infra/promtool/fetch.sh; each names its own
# packages.lock (lines: name version archive pool-path sha256 sha1).
#
# A .deb comes from deb.debian.org, or, once the mirror has moved on, from
# snapshot.debian.org by its SHA-1, and is checked against its pinned SHA-256.

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org}
SNAPSHOT=${DEBIAN_SNAPSHOT:-https://snapshot.debian.org}

fetch_deb() {  # debs-dir archive pool-path sha256 sha1 -> prints the verified file's path
  local debs=$1 archive=$2 pool=$3 sha256=$4 sha1=$5 file
  file="$debs/$(basename "$pool")"
  if ! { [ -f "$file" ] && echo "$sha256  $file" | sha256sum -c --quiet - 2>/dev/null; }; then
    rm -f "$file.part"
    curl -fsSL --retry 3 -o "$file.part" "$MIRROR/$archive/$pool" \
      || curl -fsSL --retry 3 -o "$file.part" "$SNAPSHOT/file/$sha1" \
      || { echo "fetch.sh: cannot download $pool from $MIRROR nor $SNAPSHOT" >&2; return 1; }
    echo "$sha256  $file.part" | sha256sum -c --quiet - \
      || { echo "fetch.sh: $pool does not match its pinned sha256" >&2; return 1; }
    mv "$file.part" "$file"
  fi
  echo "$file"
}

deb_tar() {  # deb -> its file system as a plain tar on stdout (dpkg-deb, or ar where it is missing)
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb --fsys-tarfile "$1"
    return
  fi
  local data
  data=$(ar t "$1" | grep '^data\.tar')
  case "$data" in  # tar does not guess the compression of a pipe
    *.xz) ar p "$1" "$data" | xz -dc ;;
    *.zst) ar p "$1" "$data" | zstd -dc ;;
    *.gz) ar p "$1" "$data" | gzip -dc ;;
    *) ar p "$1" "$data" ;;
  esac
}
