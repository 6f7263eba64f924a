# The helpers of the shell test cases (tests/cli/*.sh), sourced by each: run a command and
# keep its output, and check its exit status, its output and its result line.

fail() { echo "FAIL: $*"; exit 1; }
run() { out=$("$@" 2>&1); rc=$?; echo "$ $*"; echo "$out"; }
expect_rc() { [ "$rc" -eq "$1" ] || fail "exit status $rc, expected $1"; }
expect_out() { echo "$out" | grep -e "$1" >/dev/null || fail "the output lacks '$1'"; }
# field KEY: a number from the result line (the last line of the output).
field() { echo "$out" | tail -n 1 | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
# at_least KEY BOUND
at_least() {
  v=$(field "$1")
  [ -n "$v" ] || fail "no $1 in the result line"
  awk -v v="$v" -v b="$2" 'BEGIN { exit !(v >= b) }' || fail "$1 $v, expected at least $2"
}
