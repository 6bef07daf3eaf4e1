#!/bin/sh
# tools/demo.sh — what `make demo` shows (make builds first; this builds nothing).
#
# Today fedledger can define a network: this validates and summarises every
# example genesis, then builds a new one step by step with fedledger-genesis,
# printing each command before it runs. Nodes, learning rounds and inference
# are not built yet; when they are, this script will start a testnet.
set -eu
cd "$(dirname "$0")/.."

BIN=${FEDLEDGER_BIN:-build/bin}
G="$BIN/fedledger-genesis"
if [ ! -x "$G" ]; then
	echo "demo: $G is not built; run 'make demo' (it builds first)" >&2
	exit 1
fi

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

echo "== 1. The example networks in genesis/examples/"
echo
for f in genesis/examples/*.json; do
	run validate "$f"
done

echo "== 2. Building a genesis with the tool"
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
run fund --genesis "$GEN" --account $M0 --amount 5000000
refused fund --genesis "$GEN" --account $M0 --amount ten
run add-profile --genesis "$GEN" --file $P/clothing.json
refused add-profile --genesis "$GEN" --file $P/sneakers.json
run add-profile --genesis "$GEN" --file $P/footwear.json
run add-profile --genesis "$GEN" --file $P/sneakers.json
run validate "$GEN"
run validate --json "$GEN"
echo "demo: done (the genesis above was written to a temporary directory and removed)"
