#!/bin/bash
# Builds .dev/gpu/payload/ (ignored): the deno binary and the repository (tracked and untracked,
# not ignored, files; the PyTorch reference bench/torch_reference.py among them) with a pruned
# node_modules, each xz-compressed, plus run.sh and fused.sh, for a GPU machine that has
# neither Deno nor a registry (about 36 MB in all).
# Run from anywhere after `deno install`; then, on the GPU machine, from the repository root:
#   bash .dev/gpu/payload/run.sh      (results in $OUT)
#   bash .dev/gpu/payload/fused.sh    (the fused engine, the reference on CUDA, a whole search)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD; STAGE=/tmp/gpu-stage; PAY=$ROOT/.dev/gpu/payload
rm -rf $STAGE $PAY; mkdir -p $STAGE/repo $PAY
git ls-files -co --exclude-standard | grep -v '^\.dev/' | tar -cf - -T - | tar -xf - -C $STAGE/repo
cp -a node_modules $STAGE/repo/node_modules
cd $STAGE/repo/node_modules/.deno
# tfjs packages: keep package.json, the node bundle named by "main", and wasm binaries.
for pkg in @tensorflow+*/node_modules/@tensorflow/*; do
  [ -L "$pkg" ] && continue
  main=$(python3 -c "import json,sys;print(json.load(open('$pkg/package.json'))['main'])")
  find "$pkg" -type f ! -name package.json ! -path "$pkg/$main" ! -name '*.wasm' -delete
done
find . -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.md' \) -delete
rm -rf core-js@*/node_modules/core-js/modules/es.* 2>/dev/null || true
cd $STAGE
du -sh repo/node_modules
tar -cf - repo | xz -T2 -6 > $PAY/repo.tar.xz
[ -f /tmp/deno.xz ] || xz -T2 -6 -c "$(readlink -f "$(which deno)")" > /tmp/deno.xz; cp /tmp/deno.xz $PAY/deno.xz
cp "$ROOT/bench/device/run.sh" "$ROOT/bench/device/fused.sh" $PAY/
ls -la $PAY
