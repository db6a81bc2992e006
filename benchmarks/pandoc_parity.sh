#!/usr/bin/env bash
# The zsh manual (HTML, corpora/zsh, `make corpus-zsh`) converted by pandoc into .docx, .odt and
# .epub, one file per page as in the HTML; the HTML and each conversion indexed, and the zsh fit
# set asked of each (its doc names given the new suffix), with the fast profile. `rag index` runs every
# time: it re-reads only what changed (or what an older reading read) and embeds only new text.
# Usage: bash benchmarks/pandoc_parity.sh [WORK_DIR]   (needs pandoc: apt-get install pandoc)
set -euo pipefail
work=${1:-/tmp/parity}
bin=.venv/bin
mkdir -p "$work"
cp eval/zsh_fit.jsonl "$work/zsh_fit_html.jsonl"
for format in docx odt epub; do
    mkdir -p "$work/zsh-$format"
    for page in corpora/zsh/*.html; do
        out="$work/zsh-$format/$(basename "${page%.html}").$format"
        [ -s "$out" ] || pandoc --quiet -f html -t "$format" -o "$out" "$page"
    done
    sed "s/\.html\"/.$format\"/g" eval/zsh_fit.jsonl > "$work/zsh_fit_$format.jsonl"
done
for format in html docx odt epub; do
    corpus="$work/zsh-$format"
    [ "$format" = html ] && corpus=corpora/zsh
    $bin/rag index --corpus "$corpus" --index "$work/index-zsh-$format" 2>/dev/null
done
for format in html docx odt epub; do
    echo "== $format"
    $bin/rag --profile fast eval "$work/zsh_fit_$format.jsonl" --index "$work/index-zsh-$format" \
        --out "$work/answers-$format.jsonl" > "$work/eval-$format.txt"
    grep -E '"(answered_right|answered_right_and_cited|abstained_right|quotes_not_exact)"' "$work/eval-$format.txt"
    # Questions right here and not from the HTML, or the other way round.
    [ "$format" = html ] || diff <(grep -oE '^(ok|NO) [a-z0-9]+' "$work/eval-html.txt") \
        <(grep -oE '^(ok|NO) [a-z0-9]+' "$work/eval-$format.txt") | grep -E '^[<>]' || true
done
