#!/usr/bin/env bash
# Same-run comparison of tau-hamt and fvm_ipld_hamt with the hamt-load example.
# Usage: benches/hamt-compare.sh [RUNS] [N...]   (default: 5 runs of 1000 100000 1000000)
# Alternates the two implementations run by run and prints, per N and phase,
# the median milliseconds of each and the ratio fvm/tau (higher = tau faster).
# Also prints the peak resident memory of one run of each at the largest N when
# /usr/bin/time is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 100000 1000000)
cargo build --release --example hamt-load >/dev/null 2>&1
bin=target/release/examples/hamt-load
median() { sort -n | awk '{a[NR]=$1} END {m=int((NR+1)/2); print a[m]}'; }
printf '| keys | phase | tau ms | fvm ms | fvm/tau |\n|---|---|---|---|---|\n'
for n in "${sizes[@]}"; do
  tmp=$(mktemp -d)
  for ((r = 0; r < runs; r++)); do
    for impl in tau fvm; do
      "$bin" --n "$n" --seed 1 --bitwidth 5 --impl "$impl" >>"$tmp/$impl"
    done
  done
  roots=$(grep -h '^root_cid=' "$tmp/tau" "$tmp/fvm" | sort -u | wc -l)
  [ "$roots" -eq 1 ] || { echo "root CIDs differ between implementations" >&2; exit 1; }
  for phase in insert_flush_ms get_ms delete_flush_ms; do
    t=$(grep "^$phase=" "$tmp/tau" | cut -d= -f2 | median)
    f=$(grep "^$phase=" "$tmp/fvm" | cut -d= -f2 | median)
    printf '| %s | %s | %s | %s | %.2f |\n' "$n" "${phase%_ms}" "$t" "$f" "$(echo "$f / $t" | bc -l)"
  done
  rm -rf "$tmp"
done
if [ -x /usr/bin/time ]; then
  n=${sizes[-1]}
  for impl in tau fvm; do
    kb=$(/usr/bin/time -f '%M' "$bin" --n "$n" --seed 1 --bitwidth 5 --impl "$impl" 2>&1 >/dev/null | tail -1)
    echo "peak_rss_kb impl=$impl n=$n: $kb"
  done
fi
