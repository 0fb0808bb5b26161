#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20) and fails on the first crash.
#
#   fuzz/run.sh [SECONDS]
#
# Installs cargo-fuzz from crates.io when it is missing. The toolchain is stable:
# RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its nightly-only sanitizer flags. New inputs the
# fuzzer finds go to fuzz/corpus/<target>/ next to the committed seed-* files (git-ignored);
# a crashing input is kept in fuzz/artifacts/<target>/ and its path printed.
set -euo pipefail

seconds="${1:-20}"
case "$seconds" in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version > /dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi

targets=(link_parser transport app_parser master_session outstation_session router tls)

cargo fuzz build
status=0
for target in "${targets[@]}"; do
    echo "== $target: ${seconds} s"
    log="fuzz/target/run-$target.log"
    if cargo fuzz run "$target" -- -max_total_time="$seconds" > "$log" 2>&1; then
        grep -E '^Done [0-9]+ runs' "$log" || tail -n 1 "$log"
    else
        echo "!! $target crashed or failed; the log ($log) ends with:"
        tail -n 40 "$log"
        status=1
    fi
done
exit "$status"
