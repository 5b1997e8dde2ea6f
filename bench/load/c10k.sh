#!/usr/bin/env bash
# 10,000 concurrent connections against the Fastify example for 20 s (not run in CI).
# Raises the open-file limit first: 10,000 client sockets + 10,000 server sockets.
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/supaguard_bench REDIS_URL=redis://127.0.0.1:6379/3 bash bench/load/c10k.sh
#   (C10K_SECONDS, C10K_CONNECTIONS override; without DATABASE_URL the example runs on embedded PGlite)
set -euo pipefail
cd "$(dirname "$0")/../.."
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "open files limit: $(ulimit -n)"
# The example server runs on the built package (dist/), as users install it.
npm run build --silent
exec npx tsx bench/load/c10k.ts
