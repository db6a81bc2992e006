#!/usr/bin/env bash
# The third evaluation corpus: the Z shell manual and FAQ in HTML (186 pages, of which 144 are
# one-line redirects left by texinfo for node names), from Debian's zsh-doc package, unpacked
# into corpora/zsh/ (git-ignored). Needs apt-get (no root: `apt-get download` fetches the .deb
# into the current folder without installing it).
set -euo pipefail
cd "$(dirname "$0")/.."
target=corpora/zsh
if [ -n "$(ls -A "$target" 2>/dev/null)" ]; then
    echo "$target is already there ($(find "$target" -name '*.html' | wc -l) pages)"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download zsh-doc 2>/dev/null) || {
    echo "apt-get download zsh-doc failed: run 'apt-get update' first" >&2
    exit 1
}
dpkg -x "$work"/zsh-doc_*.deb "$work/root"
mkdir -p "$target.tmp"
(cd "$work/root/usr/share/doc/zsh-common/html" && find . -name '*.html' -exec cp --parents {} "$OLDPWD/$target.tmp/" \;)
mv "$target.tmp" "$target"
echo "$target: $(find "$target" -name '*.html' | wc -l) pages of $(dpkg-deb -f "$work"/zsh-doc_*.deb Version)"
