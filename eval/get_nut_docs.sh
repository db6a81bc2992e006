#!/usr/bin/env bash
# The fourth evaluation corpus: Network UPS Tools' manuals as PDF (6 files, 296 pages: user
# manual, developer guide, FAQ, packager guide, cables, Solaris USB notes), from Debian's
# nut-doc package, unpacked into corpora/nut/ (git-ignored). Needs apt-get (no root:
# `apt-get download` fetches the .deb into the current folder without installing it).
set -euo pipefail
cd "$(dirname "$0")/.."
target=corpora/nut
if [ -n "$(ls -A "$target" 2>/dev/null)" ]; then
    echo "$target is already there ($(find "$target" -name '*.pdf' | wc -l) files)"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download nut-doc 2>/dev/null) || {
    echo "apt-get download nut-doc failed: run 'apt-get update' first" >&2
    exit 1
}
dpkg -x "$work"/nut-doc_*.deb "$work/root"
mkdir -p "$target.tmp"
(cd "$work/root/usr/share/doc/nut-doc/pdf" && find . -name '*.pdf' -exec cp --parents {} "$OLDPWD/$target.tmp/" \;)
mv "$target.tmp" "$target"
pages=""
if command -v pdfinfo >/dev/null; then
    pages=", $(for f in "$target"/*.pdf; do pdfinfo "$f"; done | awk '/^Pages:/{n += $2} END {print n}') pages"
fi
echo "$target: $(find "$target" -name '*.pdf' | wc -l) files$pages of $(dpkg-deb -f "$work"/nut-doc_*.deb Version)"
