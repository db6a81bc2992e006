#!/usr/bin/env bash
# An evaluation corpus from a Debian documentation package, unpacked into corpora/NAME/
# (git-ignored). Needs apt-get (no root: `apt-get download` fetches the .deb into a temporary
# folder without installing it); run 'apt-get update' once first on a new machine.
#
#   bash eval/get_debian_docs.sh NAME PACKAGE FOLDER EXTENSION
#
# The corpora (make corpus-NAME):
#   sqlite  sqlite3-doc  usr/share/doc/sqlite3             html  SQLite's documentation, 766 pages
#   zsh     zsh-doc      usr/share/doc/zsh-common/html     html  the Z shell manual and FAQ, 186 pages
#                                                                (144 one-line redirects left by texinfo)
#   nut     nut-doc      usr/share/doc/nut-doc/pdf         pdf   Network UPS Tools' manuals, 6 PDFs, 296 pages
#   asy     asymptote-doc usr/share/doc/asymptote          pdf   Asymptote's manuals, 6 PDFs, 220 pages
#                                                                (examples/pixel.pdf is an image: skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 package=$2 folder=$3 extension=$4
target=corpora/$name
if [ -n "$(ls -A "$target" 2>/dev/null)" ]; then
    echo "$target is already there ($(find "$target" -name "*.$extension" | wc -l) .$extension files)"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download "$package" 2>/dev/null) || {
    echo "apt-get download $package failed: run 'apt-get update' first" >&2
    exit 1
}
dpkg -x "$work/$package"_*.deb "$work/root"
mkdir -p "$target.tmp"
(cd "$work/root/$folder" && find . -name "*.$extension" -exec cp --parents {} "$OLDPWD/$target.tmp/" \;)
mv "$target.tmp" "$target"
echo "$target: $(find "$target" -name "*.$extension" | wc -l) .$extension files of $package $(dpkg-deb -f "$work/$package"_*.deb Version)"
