#!/bin/sh
# tools/demo.sh — what `make demo` shows (make builds first; this builds nothing).
#
# 1. A local testnet of real fedledgerd processes on 127.0.0.1 (4 validators,
#    6 members holding Dirichlet(0.5) shares of Fashion-MNIST) running
#    federated rounds of two profiles, clothing and footwear: each round is
#    printed as every node has committed it, with the coordinator's held-out
#    accuracy, the updates included and the tokens paid.
# 2. An audit of the last round from the node's API, and the node's metrics.
# 3. The same learning without a chain (fedledger-sim), then the genesis tool.
# Ctrl-C stops the testnet cleanly at any point (DEMO_ROUNDS sets the rounds).
set -eu
cd "$(dirname "$0")/.."

BIN=${FEDLEDGER_BIN:-build/bin}
G="$BIN/fedledger-genesis"
SIM="$BIN/fedledger-sim"
TN="$BIN/fedledger-testnet"
ROUNDS=${DEMO_ROUNDS:-10}
for p in "$G" "$SIM" "$TN" "$BIN/fedledgerd"; do
	if [ ! -x "$p" ]; then
		echo "demo: $p is not built; run 'make demo' (it builds first)" >&2
		exit 1
	fi
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/fedledger-demo.XXXXXX")
NET="$DIR/testnet"
cleanup() {
	[ -f "$NET/testnet.json" ] && "$TN" down "$NET" >/dev/null 2>&1
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted; the testnet is stopped"; exit 130' INT TERM

echo "== 1. Federated rounds on a local testnet (Fashion-MNIST)"
echo
echo "4 validators order the blocks; 6 members each hold a Dirichlet(0.5) share of"
echo "the training images (at most 3,000 each). Two profiles are in the genesis:"
echo "clothing (7 labels) and footwear (3 labels), each a 784-200-200-10 MLP. In"
echo "every round each member trains on the thread pool, stores its quantised"
echo "update and commits its hash; the elected coordinator aggregates; every"
echo "validator recomputes the aggregate bit for bit before it votes; the ledger"
echo "pays the contributors."
echo
# A base port of its own (the testnet takes P..P+91), unless DEMO_BASE_PORT
# says otherwise: from the pid, above the kernel's ephemeral range
# (32768-60999), where no client socket can be holding one.
PORT=${DEMO_BASE_PORT:-$((61000 + ($$ % 40) * 100))}
echo "\$ fedledger-testnet init --out $NET --validators 4 --members 6 --dataset fashion-mnist \\"
echo "    --partition dirichlet:0.5 --max-samples 3000 --base-port $PORT --param block_interval_ms=500"
"$TN" init --out "$NET" --validators 4 --members 6 --dataset fashion-mnist \
	--partition dirichlet:0.5 --max-samples 3000 --base-port "$PORT" \
	--param block_interval_ms=500
echo "\$ fedledger-testnet up $NET"
"$TN" up "$NET"
echo
echo "Rounds as every node commits them ($ROUNDS of each profile):"
# fedledger-testnet rounds --follow prints one line per round once all ten
# nodes agree on it; shown here in words.
"$TN" rounds "$NET" --rounds "$ROUNDS" --timeout 600 --follow |
	awk '{
		if ($3 == "failed") {
			printf "  %-9s round %2d: failed (%s updates)\n", $1, $2, $7
		} else {
			printf "  %-9s round %2d: held-out accuracy %5.2f%%  %s updates, aggregated by %s, %s tokens paid\n",
			       $1, $2, $8 / 10000, $7, $4, $6
		}
		fflush()
	}'
echo
"$TN" check "$NET"
echo
echo "== 2. Auditing round $ROUNDS of clothing from node0's API"
echo
echo "\$ fedledger-testnet get $NET node0 /v1/profiles/clothing/rounds/$ROUNDS"
ROUND_JSON=$("$TN" get "$NET" node0 "/v1/profiles/clothing/rounds/$ROUNDS")
# Node names for ids, from testnet.json.
NAMES=$(tr -d ' \n' <"$NET/testnet.json" | sed 's/},{/}\n{/g' |
	sed -n 's/.*"name":"\(node[0-9]*\)","id":"\([0-9a-f]*\)".*/\2 \1/p')
name_of() { echo "$NAMES" | awk -v id="$1" '$1 == id { print $2 }'; }
field_of() { echo "$ROUND_JSON" | tr -d ' \n' | sed -n "s/.*\"$1\":\"*\([^\",]*\).*/\1/p"; }
echo "  status $(field_of status), new model $(field_of new_model)"
echo "  committed by $(name_of "$(field_of committed_by)") with held-out accuracy $(field_of eval_accuracy_ppm) ppm"
echo "  updates (participant, samples) and rewards (account, tokens):"
echo "$ROUND_JSON" | tr -d ' \n' | sed 's/"updates":\[/\n/; s/\],"rewards":\[/\n/; s/\],"evals"/\n/' |
	sed -n '2,3p' | sed 's/},{/}\n{/g' | while read -r row; do
		who=$(echo "$row" | sed -n 's/.*"\(participant\|account\)":"\([0-9a-f]*\)".*/\2/p')
		n=$(echo "$row" | sed -n 's/.*"n_samples":\([0-9]*\).*/\1/p')
		amt=$(echo "$row" | sed -n 's/.*"amount":\([0-9]*\).*/\1/p')
		if [ -n "$n" ]; then
			echo "    update  $(name_of "$who")  $n samples"
		elif [ -n "$amt" ]; then
			echo "    reward  $(name_of "$who")  $amt tokens"
		fi
	done
echo
echo "\$ fedledger-testnet get $NET node4 /metrics   (a member's round families)"
"$TN" get "$NET" node4 /metrics | grep -E '^fedledger_(round_(updates|aggregates|verify_ok|evals)_total|blobstore_(bytes|blobs)|blobs_fetched_total|round_train_seconds_(sum|count)) ' |
	sed 's/^/  /'
echo
"$TN" down "$NET" >/dev/null
echo "(testnet stopped)"
echo

echo "== 3. The same learning without a chain (fedledger-sim)"
echo
echo "10 clients, Dirichlet(0.5) shares of all 10 labels, 784-200-200-10, 5 rounds."
echo "Given the same shares and hyper-parameters, a testnet's models are this"
echo "simulation's bit for bit (tests/net/rounds.sh checks it after 10 rounds)."
echo
SIM_ARGS="--clients 10 --rounds 5 --alpha 0.5 --epochs 1 --batch 10 --lr 0.05 --seed 1 --max-samples 3000"
echo "\$ fedledger-sim $SIM_ARGS"
# shellcheck disable=SC2086 # the arguments are meant to split
"$SIM" $SIM_ARGS
echo

# Print a command as a user would type it, then run it; stop on failure.
run() {
	echo "\$ fedledger-genesis $*"
	"$G" "$@"
	echo
}

# A command the tool must refuse: show its one-line error and go on.
refused() {
	echo "\$ fedledger-genesis $*"
	if "$G" "$@"; then
		echo "demo: that should have been refused" >&2
		exit 1
	fi
	echo "  (refused, as it should be)"
	echo
}

echo "== 4. The example networks in genesis/examples/"
echo
for f in genesis/examples/*.json; do
	run validate "$f"
done

echo "== 5. Building a genesis with the tool"
echo
GEN="$DIR/genesis.json"
P=genesis/examples/profiles
# Public test keys of the example network (genesis/examples/keys/README.md).
V0=4c2493cce4f114607aa2b424079396269d591b61db6c3b353bc8098db8cee8f4
V1=02dfb2eab1b8fe91d5f26d3332a9d14e7859101636e8db2f667750924f32c20f
M0=af59c8d7a69fc69bc629c06be7451e7868d4244378afd6ba51fe199f5b94444b

run new --chain-id demo-net-1 --out "$GEN" --time-ms 1767225600000
refused validate "$GEN"
run add-validator --genesis "$GEN" --pubkey $V0 --power 10 --name val-0
run add-validator --genesis "$GEN" --pubkey $V1 --power 10 --name val-1
run add-member --genesis "$GEN" --pubkey $M0 --name lab-a
run fund --genesis "$GEN" --account $V0 --amount 10000000
run fund --genesis "$GEN" --account $M0 --amount 5000000 --bond 2000000
refused fund --genesis "$GEN" --account $M0 --amount ten
run add-profile --genesis "$GEN" --file $P/clothing.json
refused add-profile --genesis "$GEN" --file $P/sneakers.json
run add-profile --genesis "$GEN" --file $P/footwear.json
run add-profile --genesis "$GEN" --file $P/sneakers.json
run validate "$GEN"
run validate --json "$GEN"
echo "demo: done (the genesis above was written to a temporary directory and removed)"
