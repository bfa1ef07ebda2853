#!/usr/bin/env bash
# Runs this tree's run-folder and sweep-safety tests against the `textclf` binary of
# another commit (by default 5b7bafb, main before the run-folder renovation of issue 15),
# and prints one line per test: whether it passed there and the first line of its
# failure. This is how BENCHMARKS.md checks that each data-loss test fails on the old
# code (and passes on this one: run it with REV=HEAD).
#
#   bash bench/tests_on_build.sh            # the pre-renovation main
#   REV=HEAD bash bench/tests_on_build.sh   # this tree's own commit, for comparison
#
# The old commit is built in a git worktree with its own target folder (debug build,
# 10 to 20 minutes on two cores the first time); remove it afterwards with
# `git worktree remove --force $WORK/tree`.
set -euo pipefail
cd "$(dirname "$0")/.."
REV=$(git rev-parse --short "${REV:-5b7bafb}^{commit}")
WORK=${WORK:-/tmp/textclf-tests-on-$REV}
TESTS=${TESTS:-run_folders}

if [ ! -d "$WORK/tree" ]; then
    git worktree add -f "$WORK/tree" "$REV" >/dev/null
fi
(cd "$WORK/tree" && CARGO_TARGET_DIR="$WORK/target" cargo build -q -p textclf-cli)
BIN="$WORK/target/debug/textclf"
echo "binary under test: $BIN ($REV)"

for file in $TESTS; do
    cargo test -q -p textclf-cli --test "$file" --no-run
    names=$(cargo test -q -p textclf-cli --test "$file" -- --list 2>/dev/null |
        sed -n 's/: test$//p')
    for t in $names; do
        log="$WORK/$file.$t.log"
        if TEXTCLF_TEST_BIN="$BIN" timeout 900 cargo test -q -p textclf-cli --test "$file" \
            -- --exact "$t" >"$log" 2>&1; then
            echo "| $file::$t | passes | |"
        else
            why=$(grep -m1 -A3 "panicked at" "$log" | sed -n '2,4p' | tr '\n' ' ' | cut -c1-160)
            echo "| $file::$t | fails | ${why:-see $log} |"
        fi
        # A failed test can leave its spawned commands running.
        pkill -f "^$BIN " || true
    done
done
