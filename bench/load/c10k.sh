#!/usr/bin/env bash
# 10,000 concurrent connections against the Fastify example for 20 s (not run in CI).
# Raises the open-file limit first: 10,000 client sockets + 10,000 server sockets.
#   bash bench/load/c10k.sh        # C10K_SECONDS, C10K_CONNECTIONS override
set -euo pipefail
cd "$(dirname "$0")/../.."
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "open files limit: $(ulimit -n)"
exec npx tsx bench/load/c10k.ts
