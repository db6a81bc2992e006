#!/usr/bin/env bash
# The training library: Debian documentation packages unpacked into corpora/train/raw/PACKAGE/
# (git-ignored), their versions recorded in training/library.tsv (committed). None of them is an
# evaluated corpus (training/library.py refuses those, and tests/test_training.py checks it).
# Needs apt-get (root not needed: `apt-get download` fetches a .deb without installing it);
# run 'apt-get update' once first on a new machine.
#
#   bash training/library.sh            # every package of training/packages.txt
set -euo pipefail
cd "$(dirname "$0")/.."
raw=corpora/train/raw
debs=corpora/train/debs
mkdir -p "$raw" "$debs"
versions=training/library.tsv
printf 'package\tversion\n' > "$versions.tmp"
while read -r package _; do
    case "$package" in ''|'#'*) continue ;; esac
    deb=$(ls "$debs/$package"_*.deb 2>/dev/null | head -n1 || true)
    if [ -z "$deb" ]; then
        (cd "$debs" && apt-get download "$package" >/dev/null 2>&1) || {
            echo "apt-get download $package failed: run 'apt-get update' first" >&2
            exit 1
        }
        deb=$(ls "$debs/$package"_*.deb | head -n1)
    fi
    if [ ! -d "$raw/$package" ]; then
        dpkg -x "$deb" "$raw/$package.tmp"
        mv "$raw/$package.tmp" "$raw/$package"
    fi
    printf '%s\t%s\n' "$package" "$(dpkg-deb -f "$deb" Version)" >> "$versions.tmp"
    echo "$package $(dpkg-deb -f "$deb" Version): $(find "$raw/$package" -type f | wc -l) files"
done < training/packages.txt
mv "$versions.tmp" "$versions"
