#!/usr/bin/env bash
# Installs the Debian 12 packages that yamori's build, tests and demo need.
# Idempotent: installs only what is missing; runs apt-get update at most once
# per call, and only when something is missing. Used by `make demo`,
# `make check` and .ci/run.
set -euo pipefail

pkgs=(
	build-essential cmake ninja-build pkg-config clang clang-format libclang-rt-14-dev
	libyaml-dev libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev libssl-dev
	libsodium-dev nettle-dev libjansson-dev libsqlite3-dev sqlite3 libzstd-dev zlib1g-dev libcmocka-dev libseccomp-dev
	libpcre2-dev libhyperscan-dev libevtx-dev libexpat1-dev libbpf-dev bpftool libsystemd-dev
	procps iproute2 curl ca-certificates python3 python3-yaml
)

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run as root (or install them) and try again" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
