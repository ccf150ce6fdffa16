#!/usr/bin/env bash
# Same-run comparison of tau-hamt and fvm_ipld_hamt with the hamt-load example.
# Usage: benches/hamt-compare.sh [RUNS] [N...]   (default: 5 runs of 1000 100000 1000000)
# Runs tau (set loop), tau (--insert bulk, Hamt::extend) and fvm alternately, run
# by run, and prints per N and phase the median milliseconds of each and the
# ratios fvm/tau (higher = tau faster). At the largest N it also prints the
# peak resident memory of one run of each (needs /usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 100000 1000000)
cargo build --release --example hamt-load >/dev/null 2>&1
bin=target/release/examples/hamt-load
variants=("tau:--impl tau --insert set" "bulk:--impl tau --insert bulk" "fvm:--impl fvm")
median() { sort -n | awk '{a[NR]=$1} END {m=int((NR+1)/2); print a[m]}'; }
ratio() { awk -v f="$1" -v t="$2" 'BEGIN {printf "%.2f", f / t}'; }
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
printf '| keys | phase | tau ms | tau extend ms | fvm ms | fvm/tau | fvm/tau extend |\n|---|---|---|---|---|---|---|\n'
for n in "${sizes[@]}"; do
  tmp=$(mktemp -d)
  for ((r = 0; r < runs; r++)); do
    for v in "${variants[@]}"; do
      # shellcheck disable=SC2086
      "$bin" --n "$n" --seed 1 --bitwidth 5 ${v#*:} >>"$tmp/${v%%:*}"
    done
  done
  roots=$(grep -h '^root_cid=' "$tmp"/* | sort -u | wc -l)
  [ "$roots" -eq 1 ] || { echo "root CIDs differ between runs" >&2; exit 1; }
  for phase in insert_flush_ms get_ms delete_flush_ms; do
    t=$(grep "^$phase=" "$tmp/tau" | cut -d= -f2 | median)
    b=$(grep "^$phase=" "$tmp/bulk" | cut -d= -f2 | median)
    f=$(grep "^$phase=" "$tmp/fvm" | cut -d= -f2 | median)
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" "${phase%_ms}" "$t" "$b" "$f" "$(ratio "$f" "$t")" "$(ratio "$f" "$b")"
  done
  rm -rf "$tmp"
done
if [ -x /usr/bin/time ]; then
  n=${sizes[-1]}
  for v in "${variants[@]}"; do
    # shellcheck disable=SC2086
    kb=$(/usr/bin/time -f '%M' "$bin" --n "$n" --seed 1 --bitwidth 5 ${v#*:} 2>&1 >/dev/null | tail -1)
    echo "peak_rss_kb ${v%%:*} n=$n: $kb"
  done
fi
