#!/usr/bin/env bash
# The study in parts through the unit cache (each part's tasks merge into results.json as the
# part ends), at low priority, one task per part so that a part that runs out of time loses only
# its own task: every task's core methods first, then the EvoMAL variants with one setting alone
# on the small tasks (the core units of those tasks come from the cache).
set -euo pipefail
run() { nice -n 5 npx -y deno@2.9.6 run -A reproduce/main.ts --plan study "$@"; }
run --tasks iris-mlp,boston-mlp --core-only
run --tasks mnist-linear
run --tasks spam-linear
run --tasks mnist-mlp
run --tasks iris-mlp,boston-mlp
