#!/usr/bin/env bash
# The study in three parts through the unit cache (each part's tasks merge into results.json),
# at low priority: the small tasks first, then MNIST linear and spam, then the MNIST MLP.
set -euo pipefail
run() { nice -n 5 npx -y deno@2.9.6 run -A reproduce/main.ts --plan study --tasks "$1"; }
run iris-mlp,boston-mlp
run mnist-linear,spam-linear
run mnist-mlp
