#!/bin/sh
# Installs the Debian packages fedledger builds and tests with (design.md §3).
# Idempotent and quiet: when every package is present it prints nothing and
# touches nothing; otherwise it runs apt-get for the missing ones only.
set -eu

PKGS="gcc make pkg-config clang libclang-rt-14-dev cppcheck clang-format
libsecp256k1-dev liblmdb-dev lmdb-utils libuv1-dev libsodium-dev libssl-dev
libopenblas-dev libjansson-dev libhttp-parser-dev libcurl4-openssl-dev
libzstd-dev zlib1g-dev libcriterion-dev dataset-fashion-mnist curl"

missing=""
for p in $PKGS; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
