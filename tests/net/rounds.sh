#!/bin/sh
# tests/net/rounds.sh — federated rounds on real fedledgerd processes on
# 127.0.0.1 (fedledger-testnet), on Fashion-MNIST:
#   1. 4 validators and 6 members, two profiles (clothing and footwear label
#      subsets, tests/net/profiles), R rounds of each: every node agrees on
#      every round's model, coordinator and reward; the chain's model is
#      bit for bit fedledger-sim's on the same shares, rounds and
#      hyper-parameters, so its accuracy is too; each round pays exactly
#      what it minted.
#   2. a member that commits its update's hash and never serves the blob:
#      left out, unpaid, and the rounds still complete.
#   3. a coordinator in bad-aggregate mode: its aggregate never commits,
#      evidence lands, and a fallback coordinator completes the round.
#   4. the coordinator killed in its turn: a fallback completes the round.
#   5. two groups of members whose data hold disjoint labels (0-4 and 5-9)
#      under one profile of all ten: the coordinator finds two clear clusters
#      and proposes a child profile for each, with each group's labels.
#   6. the validators vote one child in with fedledger-wallet: it is active,
#      starts from its parent's model, the members whose data fit it join,
#      and its rounds run.
# Every wait is bounded; ports come from the pid so parallel runs differ.
# ROUNDS (default 10) sets scenario 1's rounds. Exit 0 when every check held;
# on failure the logs' tails are printed.
set -u
BIN=${FEDLEDGER_BIN:-build/bin}
TN="$BIN/fedledger-testnet"
SIM="$BIN/fedledger-sim"
WALLET="$BIN/fedledger-wallet"
DATA=${FEDLEDGER_DATA:-/usr/share/datasets/fashion-mnist}
PROFILES=$(dirname "$0")/profiles
ROUNDS=${ROUNDS:-10}
ROOT=$(mktemp -d /tmp/fl-rounds-XXXXXX)
# Ports above the kernel's ephemeral range (32768-60999): a port there may be
# held by a client socket of the tests before (faults.sh's nets just closed).
BASE=$((61000 + ($$ % 14) * 280))
SAMPLES=600

say() { printf 'rounds: %s\n' "$*"; }
die() {
	say "FAIL: $*"
	for d in "$ROOT"/*/; do
		for n in "$d"node*/; do
			[ -f "$n/node.log" ] && { echo "---- $n"; grep -i "rounds\|error\|warn" "$n/node.log" | tail -12; }
		done
	done
	for d in "$ROOT"/*/; do "$TN" down "$d" >/dev/null 2>&1; done
	[ -n "${KEEP:-}" ] && say "kept $ROOT" || rm -rf "$ROOT"
	exit 1
}
# The Fashion-MNIST labels of a profile file, comma-separated.
labels_of() {
	tr -d ' \n' <"$1" | sed 's/.*"labels":\[\([0-9,]*\)\].*/\1/'
}
# Field F (1-based, after PROFILE ROUND) of round R of profile P in a
# `fedledger-testnet rounds` listing.
field() { awk -v p="$2" -v r="$3" -v f="$4" '$1 == p && $2 == r { print $(f + 2) }' "$1"; }

[ -r "$DATA/train-images-idx3-ubyte" ] || [ -r "$DATA/train-images-idx3-ubyte.gz" ] ||
	die "no Fashion-MNIST under $DATA (make deps installs dataset-fashion-mnist)"

# ------------------------------------------------------------------ 1
N1="$ROOT/a"
"$TN" init --out "$N1" --validators 4 --members 6 --base-port $BASE --dataset fashion-mnist \
	--profile "$PROFILES/clothing-small.json" --profile "$PROFILES/footwear-small.json" \
	--partition iid --seed 1 --max-samples $SAMPLES --data "$DATA" \
	--param block_interval_ms=400 >/dev/null || die "init"
"$TN" up "$N1" 2>/dev/null || die "up"
"$TN" rounds "$N1" --rounds "$ROUNDS" --timeout 600 >"$ROOT/rounds1.txt" ||
	die "$ROUNDS rounds of both profiles not committed and agreed on"
for prof in clothing footwear; do
	labels=$(labels_of "$PROFILES/$prof-small.json")
	rule=fedavg
	[ $prof = footwear ] && rule=trimmed:0.1 # the profile's aggregation
	r=1
	while [ $r -le "$ROUNDS" ]; do
		[ "$(field "$ROOT/rounds1.txt" "$prof" $r 1)" != failed ] ||
			die "$prof round $r failed ($(field "$ROOT/rounds1.txt" "$prof" $r 5) updates): the chain's rounds no longer match fedledger-sim's"
		minted=$(field "$ROOT/rounds1.txt" "$prof" $r 3)
		paid=$(field "$ROOT/rounds1.txt" "$prof" $r 4)
		ups=$(field "$ROOT/rounds1.txt" "$prof" $r 5)
		[ "$minted" = 1000000 ] && [ "$paid" = "$minted" ] ||
			die "$prof round $r: minted $minted, paid $paid (want 1000000 both)"
		[ "$ups" = 6 ] || die "$prof round $r: $ups updates, want 6"
		r=$((r + 1))
	done
	"$SIM" --clients 6 --rounds "$ROUNDS" --iid --profile-labels "$labels" --epochs 1 \
		--batch 32 --lr 0.05 --momentum 0.9 --model 784-32-10 --seed 1 \
		--max-samples $SAMPLES --rule $rule --data "$DATA" --threads 1 --json \
		>"$ROOT/sim-$prof.json" 2>/dev/null || die "fedledger-sim for $prof"
	want=$(sed -n 's/.*"final_model":"\([0-9a-f]*\)".*/\1/p' "$ROOT/sim-$prof.json")
	got=$(field "$ROOT/rounds1.txt" "$prof" "$ROUNDS" 1)
	[ -n "$want" ] && [ "$got" = "$want" ] ||
		die "$prof: the chain's model after $ROUNDS rounds is $got, fedledger-sim's $want"
	acc_sim=$(sed -n 's/.*"final_model".*"accuracy":\([0-9.]*\).*/\1/p' "$ROOT/sim-$prof.json")
	acc_chain=$(field "$ROOT/rounds1.txt" "$prof" "$ROUNDS" 6)
	awk -v a="$acc_chain" -v s="$acc_sim" 'BEGIN { d = a / 1e6 - s; exit !(d < 0.01 && d > -0.01) }' ||
		die "$prof: held-out accuracy $acc_chain ppm on chain, $acc_sim in fedledger-sim"
	say "1. $prof: $ROUNDS rounds agreed on by 10 nodes, model = fedledger-sim's ($want), accuracy $acc_chain ppm"
done
"$TN" check "$N1" >/dev/null || die "nodes disagree on a block"
"$TN" down "$N1" >/dev/null

# A profile like clothing-small with min_participants K, for the smaller nets.
small_profile() { # K OUT
	sed "s/\"min_participants\": 6/\"min_participants\": $1/" "$PROFILES/clothing-small.json" >"$2"
}
id_of() { # DIR NODE -> its id (hex), from testnet.json
	tr -d ' \n' <"$1/testnet.json" | sed 's/},{/}\n{/g' | grep "\"name\":\"$2\"" |
		sed 's/.*"id":"\([0-9a-f]*\)".*/\1/'
}

# ------------------------------------------------------------------ 2
N2="$ROOT/b"
small_profile 3 "$ROOT/clothing-3.json"
"$TN" init --out "$N2" --validators 4 --members 4 --base-port $((BASE + 40)) \
	--dataset fashion-mnist --profile "$ROOT/clothing-3.json" --max-samples 300 \
	--data "$DATA" --byzantine 7=withhold-updates --param block_interval_ms=400 >/dev/null ||
	die "init (2)"
# The blob store's retention sweep every 2 s (a test hook) instead of 60.
FEDLEDGERD_TEST_PRUNE_S=2 "$TN" up "$N2" 2>/dev/null || die "up (2)"
"$TN" rounds "$N2" --rounds 3 --timeout 300 >"$ROOT/rounds2.txt" ||
	die "rounds with a member that withholds its updates did not complete"
for r in 1 2 3; do
	ups=$(field "$ROOT/rounds2.txt" clothing $r 5)
	paid_to=$(field "$ROOT/rounds2.txt" clothing $r 8)
	minted=$(field "$ROOT/rounds2.txt" clothing $r 3)
	paid=$(field "$ROOT/rounds2.txt" clothing $r 4)
	[ "$ups" = 4 ] || die "round $r: $ups updates committed, want 4 (node7's hash too)"
	case ",$paid_to," in *,node7,*) die "round $r: node7 never served its update and was paid ($paid_to)" ;; esac
	[ "$paid" = "$minted" ] || die "round $r: minted $minted, paid $paid"
done
grep -q "is left out: never served" "$N2"/node*/node.log ||
	die "no coordinator logged node7's update as left out"
say "2. a member that never serves its update: left out, unpaid, 3 rounds complete"
# Members publish eval_report for each committed model: the API lists them
# with the round (every member with test data, node7 too: it has the model).
i=0
until [ "$("$TN" get "$N2" 0 /v1/profiles/clothing/rounds/2 | tr -d ' \n' |
	sed 's/.*"evals":\[//' | grep -o '"reporter"' | wc -l)" -ge 3 ]; do
	i=$((i + 1))
	[ $i -lt 20 ] || die "round 2 lists fewer than 3 eval reports"
	sleep 1
done
"$TN" get "$N2" 0 /v1/profiles/clothing/rounds/2 | tr -d ' \n' |
	grep -q '"evals":\[{"reporter":"[0-9a-f]\{64\}","model":"[0-9a-f]\{64\}","n_samples":7000,"metric_value":[1-9][0-9]*' ||
	die "round 2's eval reports are not the members' held-out figures on 7,000 images"
# Retention: round 1's updates go from node0's store once they are older
# than the sweep; the latest model stays served.
old=$("$TN" get "$N2" 0 /v1/profiles/clothing/rounds/1 | tr -d ' \n' |
	sed 's/.*"updates":\[{"participant":"[0-9a-f]*","update":"\([0-9a-f]*\)".*/\1/')
i=0
while "$TN" get "$N2" 0 "/v1/blobs/$old" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 30 ] || die "round 1's update $old is still in node0's blob store"
	sleep 1
done
model=$(field "$ROOT/rounds2.txt" clothing 3 1)
"$TN" get "$N2" 0 "/v1/blobs/$model" >/dev/null 2>&1 ||
	die "round 3's model $model is no longer served after the retention sweep"
"$TN" get "$N2" 0 /metrics | grep -q '^fedledger_blobstore_pruned_total [1-9]' ||
	die "fedledger_blobstore_pruned_total did not count the sweep"
say "2. retention: round 1's updates swept, the latest model still served"
"$TN" down "$N2" >/dev/null

# ------------------------------------------------------------------ 3
N3="$ROOT/c"
small_profile 2 "$ROOT/clothing-2.json"
"$TN" init --out "$N3" --validators 4 --members 2 --base-port $((BASE + 80)) \
	--dataset fashion-mnist --profile "$ROOT/clothing-2.json" --max-samples 300 \
	--data "$DATA" --byzantine 5=bad-aggregate --param block_interval_ms=400 >/dev/null ||
	die "init (3)"
"$TN" up "$N3" 2>/dev/null || die "up (3)"
bad_round=0
for r in 1 2 3 4 5 6 7 8 9 10; do
	"$TN" rounds "$N3" --rounds $r --timeout 120 >"$ROOT/rounds3.txt" ||
		die "round $r did not complete with a bad-aggregate coordinator among the members"
	if [ "$(field "$ROOT/rounds3.txt" clothing $r 7)" = node5 ]; then
		bad_round=$r
		break
	fi
done
[ $bad_round -gt 0 ] || die "node5 was never the elected coordinator in 10 rounds"
by=$(field "$ROOT/rounds3.txt" clothing $bad_round 2)
[ "$by" != node5 ] || die "round $bad_round: node5's wrong aggregate was committed"
id5=$(id_of "$N3" node5)
i=0
until "$TN" get "$N3" 0 "/v1/accounts/$id5" 2>/dev/null | tr -d ' \n' | grep -q '"jailed":true'; do
	i=$((i + 1))
	[ $i -lt 60 ] || die "node5 was not jailed by BAD_AGGREGATE evidence"
	sleep 1
done
say "3. round $bad_round: node5's bad aggregate refused, evidence jailed it, $by completed the round"
"$TN" check "$N3" >/dev/null || die "nodes disagree on a block (3)"
"$TN" down "$N3" >/dev/null

# ------------------------------------------------------------------ 4
N4="$ROOT/d"
"$TN" init --out "$N4" --validators 4 --members 3 --base-port $((BASE + 120)) \
	--dataset fashion-mnist --profile "$ROOT/clothing-2.json" --max-samples 300 \
	--data "$DATA" --param block_interval_ms=400 >/dev/null || die "init (4)"
"$TN" up "$N4" 2>/dev/null || die "up (4)"
"$TN" rounds "$N4" --rounds 1 --timeout 120 >/dev/null || die "round 1 (4)"
set -- $("$TN" rounds "$N4" --open clothing --timeout 60) || die "no round opened (4)"
round=$1 elected=$2
"$TN" kill "$N4" "$elected" >/dev/null || die "kill $elected"
"$TN" rounds "$N4" --rounds "$round" --timeout 120 >"$ROOT/rounds4.txt" ||
	die "round $round did not complete after its coordinator $elected was killed"
by=$(field "$ROOT/rounds4.txt" clothing "$round" 2)
[ "$by" != "$elected" ] || die "round $round: committed by the killed $elected?"
"$TN" restart "$N4" "$elected" >/dev/null || die "restart $elected"
"$TN" rounds "$N4" --rounds "$round" --timeout 120 >/dev/null ||
	die "$elected did not catch up with round $round after its restart"
say "4. round $round: coordinator $elected killed, fallback $by completed it; $elected caught up"
"$TN" check "$N4" >/dev/null || die "nodes disagree on a block (4)"
"$TN" down "$N4" >/dev/null

# ------------------------------------------------------------------ 5
N5="$ROOT/e"
"$TN" init --out "$N5" --validators 4 --members 4 --base-port $((BASE + 160)) \
	--dataset fashion-mnist --profile "$PROFILES/fashion-small.json" --max-samples 300 \
	--data "$DATA" --data-labels 4=0,1,2,3,4 --data-labels 5=0,1,2,3,4 \
	--data-labels 6=5,6,7,8,9 --data-labels 7=5,6,7,8,9 --param block_interval_ms=400 \
	>/dev/null || die "init (5)"
"$TN" up "$N5" 2>/dev/null || die "up (5)"
"$TN" rounds "$N5" --rounds 2 --timeout 120 >/dev/null || die "rounds (5)"
i=0
until "$TN" get "$N5" 0 /v1/profiles 2>/dev/null | tr -d ' \n' | grep -q '"parent":"fashion"'; do
	i=$((i + 1))
	[ $i -lt 30 ] || die "no child profile of fashion proposed after a round of label-disjoint groups"
	sleep 1
done
kids=$("$TN" get "$N5" 0 /v1/profiles | tr -d ' \n' | sed 's/"profile":{/\n/g' | grep '"parent":"fashion"' |
	sed 's/.*"labels":\[\([0-9,]*\)\].*/\1/' | sort -u | tr '\n' ' ')
[ "$kids" = "0,1,2,3,4 5,6,7,8,9 " ] ||
	die "the proposed children's labels are '$kids', want '0,1,2,3,4 5,6,7,8,9 '"
say "5. label-disjoint groups under one profile: two child profiles proposed ($kids)"

# ------------------------------------------------------------------ 6
child=$("$TN" get "$N5" 0 /v1/profiles | tr -d ' \n' | sed 's/"profile":{/\n/g' |
	grep '"parent":"fashion"' | grep '"labels":\[5,6,7,8,9\]' | head -1 |
	sed 's/^"id":"\([a-z0-9._-]*\)".*/\1/')
[ -n "$child" ] || die "no child profile for labels 5-9"
export FEDLEDGER_PASSPHRASE=rounds-test
for v in 0 1 2; do
	"$WALLET" --key "$ROOT/v$v.key" keygen --import "$N5/node$v/keys/member.key" >/dev/null ||
		die "wallet: import node$v's key"
	"$WALLET" --node "http://127.0.0.1:$((BASE + 160 + 10 * v + 1))" --key "$ROOT/v$v.key" \
		profile vote "$child" yes >/dev/null || die "wallet: node$v's vote for $child"
done
"$TN" get "$N5" 0 "/v1/profiles/$child" | tr -d ' \n' | grep -q '"status":"active"' ||
	die "$child is not active after three of four validators voted yes"
"$TN" rounds "$N5" --profile "$child" --rounds 2 --timeout 120 >"$ROOT/rounds6.txt" ||
	die "the voted-in $child ran no rounds"
base=$("$TN" get "$N5" 0 "/v1/profiles/$child/rounds/1" | tr -d ' \n' |
	sed 's/.*"base_model":"\([0-9a-f]*\)".*/\1/')
case "$base" in 0000000000000000*) die "$child round 1 started from its own init, not fashion's model" ;; esac
paid=$(field "$ROOT/rounds6.txt" "$child" 1 8)
[ "$paid" = "node6,node7" ] || [ "$paid" = "node7,node6" ] ||
	die "$child round 1 paid '$paid', want the 5-9 group (node6, node7)"
say "6. $child voted in with the wallet: from fashion's model, node6 and node7 joined, 2 rounds"
"$TN" down "$N5" >/dev/null

say "all round checks passed"
rm -rf "$ROOT"
exit 0
