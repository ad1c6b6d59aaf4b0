#!/usr/bin/env bash
# The study in parts through the unit cache (each part's tasks merge into results.json as the
# part ends), at low priority, one task per part so that a part that runs out of time loses only
# its own task: every task's core methods first, then the EvoMAL variants with one setting alone
# (the core units come from the cache), then the whole report assembled from the cache.
set -euo pipefail
run() { nice -n 5 npx -y deno@2.9.6 run -A reproduce/main.ts --plan study "$@"; }
for task in spam-linear iris-mlp boston-mlp mnist-linear mnist-mlp; do
  run --tasks "$task" --core-only
done
for task in iris-mlp boston-mlp spam-linear mnist-linear mnist-mlp; do
  run --tasks "$task"
done
