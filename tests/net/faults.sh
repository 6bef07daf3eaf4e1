#!/bin/sh
# tests/net/faults.sh — real fedledgerd processes on 127.0.0.1, started and
# perturbed through fedledger-testnet (CometBFT's e2e runner is the model):
#   1. 4 validators commit; every node has the same block (and app) hash at
#      every height (`fedledger-testnet check`).
#   2. kill one: the rest keep committing; restart it: it syncs and rejoins.
#   3. kill two of four: commits stop, nothing conflicting is committed;
#      restart them: commits resume.
#   4. SIGSTOP one for 10 s and resume it: it catches up.
#   5. SIGKILL one at random moments for a minute: no double sign seen by the
#      others, its store and WAL reopen every time, no block lost.
#   6. a validator in `equivocate` mode: safety holds and the evidence of
#      its double votes lands on chain.
#   7. a new node started from genesis after 500 blocks (block_interval_ms
#      0) syncs to the tip and agrees with the validators.
# Every wait is bounded; ports come from the pid so parallel runs differ.
# Exit 0 when every check held; on failure the logs' tails are printed.
set -u
BIN=${FEDLEDGER_BIN:-build/bin}
TN="$BIN/fedledger-testnet"
ROOT=$(mktemp -d /tmp/fl-net-XXXXXX)
BASE=$((30000 + ($$ % 300) * 100))
fail=0

say() { printf 'net: %s\n' "$*"; }
die() {
	say "FAIL: $*"
	for d in "$ROOT"/*/; do
		for n in "$d"node*/; do
			[ -f "$n/node.log" ] && { echo "---- $n"; tail -15 "$n/node.log"; }
		done
	done
	for d in "$ROOT"/*/; do "$TN" down "$d" >/dev/null 2>&1; done
	rm -rf "$ROOT"
	exit 1
}
height() { # DIR NODE -> committed height from /status, or -1
	port=$(($2))
	out=$("$TN" status "$1" 2>/dev/null | awk -v n="node$2" '$1 == n { print $3 }')
	case "$out" in ''|-) echo -1 ;; *) echo "$out" ;; esac
}
max_height() {
	m=-1
	for i in 0 1 2 3; do h=$(height "$1" $i); [ "$h" -gt "$m" ] && m=$h; done
	echo "$m"
}

# ---------------------------------------------------------------- 1..5
N1="$ROOT/a"
"$TN" init --out "$N1" --validators 4 --base-port $BASE >/dev/null || die "init"
"$TN" up "$N1" 2>/dev/null || die "up"
"$TN" wait "$N1" --height 3 --timeout 30 >/dev/null || die "4 validators never reached height 3"
"$TN" check "$N1" >/dev/null || die "nodes disagree on a block"
say "1. four validators commit and agree"

"$TN" kill "$N1" 3 >/dev/null || die "kill"
h=$(max_height "$N1")
sleep 1
"$TN" wait "$N1" --height $((h + 3)) --timeout 30 >/dev/null 2>&1 || true
h2=$(height "$N1" 0)
[ "$h2" -ge $((h + 3)) ] || die "three validators stopped committing ($h -> $h2)"
"$TN" restart "$N1" 3 >/dev/null 2>&1 || die "restart"
"$TN" wait "$N1" --height $((h2 + 2)) --timeout 30 >/dev/null || die "the restarted node did not rejoin"
"$TN" check "$N1" >/dev/null || die "disagreement after a restart"
say "2. one killed: the rest commit; restarted: it syncs and rejoins"

"$TN" kill "$N1" 2 >/dev/null; "$TN" kill "$N1" 3 >/dev/null
sleep 2
h=$(height "$N1" 0)
sleep 4
h2=$(height "$N1" 0)
[ "$h2" -le $((h + 1)) ] || die "two of four killed, yet commits went on ($h -> $h2)"
"$TN" check "$N1" >/dev/null || die "disagreement with two down"
"$TN" up "$N1" 2>/dev/null || die "up after two kills"
"$TN" wait "$N1" --height $((h2 + 3)) --timeout 40 >/dev/null || die "commits did not resume"
"$TN" check "$N1" >/dev/null || die "disagreement after two restarts"
say "3. two killed: commits stop; restarted: commits resume"

"$TN" pause "$N1" 1 >/dev/null || die "pause"
sleep 10
"$TN" resume "$N1" 1 >/dev/null || die "resume"
h=$(height "$N1" 0)
"$TN" wait "$N1" --height $((h + 2)) --timeout 30 >/dev/null || die "a paused node did not catch up"
"$TN" check "$N1" >/dev/null || die "disagreement after a pause"
say "4. paused 10 s and resumed: it catches up"

# For a minute (at most 120 kills): SIGKILL at a random moment, restart,
# and the height it reopens at is never below the one it had before.
i=0
end=$(( $(date +%s) + 60 ))
while [ "$(date +%s)" -lt "$end" ] && [ $i -lt 120 ]; do
	sleep "0.$(( ($$ + i * 7919) % 9 + 1 ))"
	before=$(height "$N1" 0)
	"$TN" kill "$N1" 0 >/dev/null
	"$TN" restart "$N1" 0 >/dev/null 2>&1 || die "node0 did not reopen its store and WAL after SIGKILL $i"
	after=$(height "$N1" 0)
	[ "$after" -ge "$before" ] || die "node0 reopened at height $after after SIGKILL $i at $before: a block lost"
	i=$((i + 1))
done
h=$(max_height "$N1")
"$TN" wait "$N1" --height $((h + 2)) --timeout 30 >/dev/null || die "no progress after the SIGKILLs"
"$TN" check "$N1" >/dev/null || die "disagreement after the SIGKILLs"
if grep -l "signed two votes" "$N1"/node*/node.log >/dev/null 2>&1; then
	die "an honest validator was seen signing twice"
fi
say "5. $i SIGKILLs at random moments over a minute: store and WAL reopen, no double sign, no block lost"
"$TN" down "$N1" >/dev/null 2>&1

# ------------------------------------------------------------------ 6
N2="$ROOT/b"
"$TN" init --out "$N2" --validators 4 --base-port $((BASE + 50)) --byzantine 3=equivocate >/dev/null ||
	die "init (byzantine)"
"$TN" up "$N2" 2>/dev/null || die "up (byzantine)"
"$TN" wait "$N2" --height 6 --timeout 40 >/dev/null || die "no progress with one equivocating validator"
"$TN" check "$N2" >/dev/null || die "safety broken by one equivocating validator"
grep -q "BYZANTINE TEST MODE equivocate" "$N2/node3/node.log" || die "node3 not in equivocate mode"
grep -q "signed two votes" "$N2/node0/node.log" "$N2/node1/node.log" "$N2/node2/node.log" ||
	die "no honest node saw the double votes"
port=$((BASE + 50 + 1))
found=0
top=$(height "$N2" 0)
h=1
while [ $h -le "$top" ] && [ $found -eq 0 ]; do
	if curl -s --max-time 2 "http://127.0.0.1:$port/v1/blocks/$h" | grep -q '"kind":"evidence"'; then
		found=1
	fi
	h=$((h + 1))
done
[ $found -eq 1 ] || die "no evidence tx on chain up to height $top"
say "6. one equivocating validator: safety holds, evidence on chain at height $((h - 1))"
"$TN" down "$N2" >/dev/null 2>&1

# ------------------------------------------------------------------ 7
# Two validators with no block interval make 500 blocks in seconds; the
# member is killed at once and its store wiped, so it starts from genesis.
N3="$ROOT/c"
"$TN" init --out "$N3" --validators 2 --members 1 --base-port $BASE \
	--param block_interval_ms=0 >/dev/null || die "init (sync)"
"$TN" up "$N3" 2>/dev/null || die "up (sync)"
"$TN" kill "$N3" 2 >/dev/null || die "kill the member"
rm -rf "$N3/node2/data"
"$TN" wait "$N3" --height 500 --timeout 40 >/dev/null || die "two validators never reached height 500"
"$TN" restart "$N3" 2 >/dev/null 2>&1 || die "the member did not start from genesis"
sleep 1
top=$(height "$N3" 0)
"$TN" wait "$N3" --height "$top" --timeout 40 >/dev/null || die "the new node did not sync to height $top"
grep -q "synced to height" "$N3/node2/node.log" || die "the new node did not sync"
"$TN" check "$N3" >/dev/null || die "the synced node disagrees with the validators"
say "7. a new node started after $top blocks syncs to the tip and agrees"
"$TN" down "$N3" >/dev/null 2>&1
rm -rf "$ROOT"
say "all checks held"
