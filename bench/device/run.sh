#!/bin/bash
# GPU machine run (staged by stage.sh): WebGPU benchmark against PyTorch CUDA, batched candidates
# on WebGPU, a short whole search on WebGPU. Expects the Vulkan loader's .deb packages in .gl/
# (libvulkan1 and friends, downloaded beforehand: that machine has no registry). Everything lands
# in $OUT as it goes.
P=$(cd "$(dirname "$0")" && pwd); OUT=${OUT:-/tmp/out}; mkdir -p $OUT
T0=$(date +%s); stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/steps.txt; }
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
ICD=$(find /usr/share/vulkan /etc/vulkan /usr/local/nvidia -name '*nvidia*icd*.json' 2>/dev/null | head -1)
[ -n "$ICD" ] && export VK_DRIVER_FILES=$ICD
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
xz -dc $P/deno.xz > /tmp/g/deno && chmod +x /tmp/g/deno
tar -xJf $P/repo.tar.xz -C /tmp/g
export DENO_DIR=/tmp/denodir DENO_NO_UPDATE_CHECK=1 PATH=/tmp/g:$PATH
cd /tmp/g/repo
stamp setup done
{ nvidia-smi -L; nproc; lscpu | grep 'Model name'; python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.is_available())'; } 2>&1 | tee $OUT/machine.txt
D="deno run -A --no-check --cached-only"
timeout 240 $D bench/run.ts --backend webgpu --device cuda --python python3 --repeats 10 2>&1 | tee $OUT/bench_webgpu.txt
stamp bench done
timeout 45 $D bench/stacked.ts --backend webgpu --phase meta --steps 5 --ks 1,4,16 --repeats 1 --products rank3 2>&1 | tee $OUT/batched_meta.txt
stamp batched meta done
timeout 40 $D bench/stacked.ts --backend webgpu --phase fitness --steps 25 --ks 1,4,16 --repeats 1 --products rank3 2>&1 | tee $OUT/batched_fitness.txt
stamp batched fitness done
timeout 70 $D main.ts search --backend webgpu --workers 4 --population 25 --generations 10 --max-seconds 50 --no-final --no-report --out /tmp/r.json 2>&1 | tail -25 | tee $OUT/search_webgpu.txt
stamp search done
