#!/usr/bin/env bash
# The second evaluation corpus: SQLite's HTML documentation (766 pages), from Debian's
# sqlite3-doc package, unpacked into corpora/sqlite/ (git-ignored). Needs apt-get (no root:
# `apt-get download` fetches the .deb into the current folder without installing it).
set -euo pipefail
cd "$(dirname "$0")/.."
target=corpora/sqlite
if [ -n "$(ls -A "$target" 2>/dev/null)" ]; then
    echo "$target is already there ($(find "$target" -name '*.html' | wc -l) pages)"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download sqlite3-doc 2>/dev/null) || {
    echo "apt-get download sqlite3-doc failed: run 'apt-get update' first" >&2
    exit 1
}
dpkg -x "$work"/sqlite3-doc_*.deb "$work/root"
mkdir -p "$target.tmp"
(cd "$work/root/usr/share/doc/sqlite3" && find . -name '*.html' -exec cp --parents {} "$OLDPWD/$target.tmp/" \;)
mv "$target.tmp" "$target"
echo "$target: $(find "$target" -name '*.html' | wc -l) pages of $(dpkg-deb -f "$work"/sqlite3-doc_*.deb Version)"
