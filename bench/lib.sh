# Shared helpers of the bench scripts (sourced).

# update_section NAME TEXT: replaces <!-- NAME:start --> … <!-- NAME:end --> in
# BENCHMARKS.md with TEXT (which carries the markers), or appends it.
update_section() {
  [ -f BENCHMARKS.md ] || printf '# Benchmarks\n\nEvery figure here is produced by a script in `bench/`; rerun it to refresh its section.\n\n' > BENCHMARKS.md
  python3 - "$1" "$2" <<'PY'
import re, sys
name, sec = sys.argv[1], sys.argv[2]
s = open("BENCHMARKS.md").read()
pat = re.compile(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", re.S)
s = pat.sub(lambda _: sec, s) if pat.search(s) else s.rstrip() + "\n\n" + sec + "\n"
open("BENCHMARKS.md", "w").write(s)
PY
  echo "updated the $1 section of BENCHMARKS.md" >&2
}
