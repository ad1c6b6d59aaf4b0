#!/usr/bin/env bash
# Three Lossmith nodes on one PostgreSQL database, on this machine: a recipe to run as is, or to
# read before deploying (ops/compose.yaml is the same with containers).
#
#   bash ops/three-nodes.sh                    # a throwaway PostgreSQL cluster, nodes on 8001-8003
#   LOSSMITH_DATABASE_URL=postgres://... bash ops/three-nodes.sh   # an existing database
#
# Submit to any node, follow from any other; kill one (kill -9) and its searches and evaluations
# go to the others. Ctrl-C stops the nodes (gracefully: their searches are released) and the
# throwaway cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
DENO="npx -y deno@2.9.6"
WORK=$(mktemp -d)
chmod 711 "$WORK" # the postgres user must reach its cluster inside
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${PGBIN:-}" ]; then as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m fast stop >/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ -z "${LOSSMITH_DATABASE_URL:-}" ]; then
  # Debian's postgresql package (apt-get install postgresql); initdb refuses to run as root.
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  mkdir -p "$WORK/pg"
  [ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
  as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U postgres >/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w \
    -o "-p 55440 -k $WORK/pg -c listen_addresses=127.0.0.1" start >/dev/null
  as_pg "$PGBIN/createdb" -h 127.0.0.1 -p 55440 -U postgres lossmith
  export LOSSMITH_DATABASE_URL="postgres://postgres@127.0.0.1:55440/lossmith"
fi

for i in 1 2 3; do
  # Each node: a name, a port, a folder of its own (uploads live in the database and are copied
  # into each node's folder on first use), and its share of the cores.
  $DENO run -A main.ts start --node-id "node$i" --port "800$i" --data-dir "$WORK/node$i" \
    --default-search false --workers "${WORKERS:-1}" >"$WORK/node$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2 3; do
  until curl -sf "localhost:800$i/healthz" >/dev/null; do sleep 0.5; done
done
echo "three nodes on $LOSSMITH_DATABASE_URL:"
for i in 1 2 3; do echo "  http://127.0.0.1:800$i  (pid ${pids[$((i - 1))]}, log $WORK/node$i.log)"; done
curl -s localhost:8002/healthz
echo
echo "try: curl -si -H 'content-type: application/json' -d '{\"dataset\": \"iris\", \"seed\": 1}' localhost:8001/v1/searches"
echo "     curl -sN localhost:8002/v1/searches/srch_.../events"
wait
