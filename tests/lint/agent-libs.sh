#!/usr/bin/env bash
# agent-libs.sh BINARY: the root agent's binary links none of the libraries
# it opens at run time only (docs/internals/agent.md): libcurl and its ~30
# dependencies (the uplink process), OpenSSL's libcrypto and libssl
# (enrolment, and the uplink's TLS). Linked, the dynamic loader maps,
# relocates and initialises them in the process that runs as root for its
# whole life: RSS (libcrypto ~1.4 MB, libcurl 3.9 MB) and code an attacker
# could use there.
set -u
bin=$1
needed=$(readelf -d "$bin" 2>/dev/null | awk '/\(NEEDED\)/ {gsub(/[][]/, "", $NF); print $NF}')
[ -n "$needed" ] || { echo "agent-libs: cannot read the dynamic section of $bin"; exit 1; }
bad=$(printf '%s\n' $needed | grep -E '^lib(curl|crypto|ssl|gnutls)\.so' || true)
if [ -n "$bad" ]; then
	echo "agent-libs: $bin links $(echo $bad)"
	exit 1
fi
echo "agent-libs: $(printf '%s\n' $needed | wc -l) libraries, none of libcurl, libcrypto, libssl, libgnutls"
