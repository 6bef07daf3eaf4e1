#!/bin/sh
# tools/demo.sh — what `make demo` shows (make builds first; this builds nothing).
#
# Today fedledger can learn and can define a network: first a federated
# simulation on Fashion-MNIST (10 clients, 20 rounds, no chain yet), then
# every example genesis validated and a new one built step by step with
# fedledger-genesis, printing each command before it runs. Nodes, on-chain
# learning rounds and inference are not built yet; when they are, this
# script will start a testnet.
set -eu
cd "$(dirname "$0")/.."

BIN=${FEDLEDGER_BIN:-build/bin}
G="$BIN/fedledger-genesis"
SIM="$BIN/fedledger-sim"
for p in "$G" "$SIM"; do
	if [ ! -x "$p" ]; then
		echo "demo: $p is not built; run 'make demo' (it builds first)" >&2
		exit 1
	fi
done

echo "== 1. Federated learning on Fashion-MNIST (fedledger-sim, no chain yet)"
echo
echo "10 clients each hold a Dirichlet(0.5) share of the 60,000 training images"
echo "(so each sees mostly a few classes); every round each trains the global"
echo "784-200-200-10 MLP locally for one epoch, the quantised updates are averaged"
echo "with integer arithmetic, and the new model is scored on the 10,000 test images."
echo
SIM_ARGS="--clients 10 --rounds 20 --alpha 0.5 --epochs 1 --batch 10 --lr 0.05 --seed 1"
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

echo "== 2. The example networks in genesis/examples/"
echo
for f in genesis/examples/*.json; do
	run validate "$f"
done

echo "== 3. Building a genesis with the tool"
echo
DIR=$(mktemp -d "${TMPDIR:-/tmp}/fedledger-demo.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
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
