#!/bin/bash
# GPU machine run of the fused WebGPU engine (staged by stage.sh, as run.sh is): the fused
# workloads paired with PyTorch on the GPU, the PyTorch reference alone given all the time it
# needs, LeNet-5 and ResNet-18 on tfjs-backend-webgpu, and one whole 25 x 50 MNIST-MLP search
# with --backend auto. Expects the Vulkan loader's .deb packages in .gl/ (as run.sh); without
# them (a machine with no GPU) every step runs on Deno's software adapter. QUICK=1 sizes each
# step for such a machine: a smoke run, not figures. Everything lands in $OUT as it goes; the
# payload is unpacked in $G (default /tmp/g).
P=$(cd "$(dirname "$0")" && pwd); OUT=${OUT:-/tmp/out}; G=${G:-/tmp/g}; mkdir -p $OUT $G
T0=$(date +%s); stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/steps.txt; }
STAGED=0
for f in .gl/*.deb; do [ -f "$f" ] && dpkg -x $f / && STAGED=1; done
[ $STAGED = 1 ] && ldconfig
ICD=$(find /usr/share/vulkan /etc/vulkan /usr/local/nvidia -name '*nvidia*icd*.json' 2>/dev/null | head -1)
[ -n "$ICD" ] && export VK_DRIVER_FILES=$ICD
# Only where it exists: pointing EGL at a missing vendor file leaves Deno with no adapter at all.
EGL=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f $EGL ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$EGL
xz -dc $P/deno.xz > $G/deno && chmod +x $G/deno
tar -xJf $P/repo.tar.xz -C $G
export DENO_DIR=$G/denodir DENO_NO_UPDATE_CHECK=1 PATH=$G:$PATH
cd $G/repo
stamp setup done
DEVICE=cpu; nvidia-smi -L >/dev/null 2>&1 && DEVICE=cuda
# The first python3 that has torch (the GPU host's, or Debian's python3-torch).
PYTHON=${PYTHON:-}
for p in python3 /usr/bin/python3; do
  [ -z "$PYTHON" ] && $p -c 'import torch' 2>/dev/null && PYTHON=$(command -v $p)
done
PYTHON=${PYTHON:-python3}
REPEATS=10; GENERATIONS=50; BIG=25,64; DESIGN="--k 25 --loss-shaders --products --lenet --profile"
if [ "${QUICK:-0}" = 1 ]; then REPEATS=2; GENERATIONS=2; BIG=25; DESIGN="--k 4 --lenet"; fi
{ nvidia-smi -L; nproc; lscpu | grep 'Model name'; $PYTHON -c 'import torch; print("torch", torch.__version__, torch.cuda.is_available())'; echo "device $DEVICE, quick ${QUICK:-0}"; } 2>&1 | tee $OUT/machine.txt
D="deno run -A --no-check --cached-only"
K="1,4,16,$BIG"
FUSED=$(for p in meta fitness; do for k in ${K//,/ }; do printf "fused_%s_k%s," $p $k; done; done)
timeout 1200 $D bench/run.ts --backend auto --device $DEVICE --python $PYTHON --repeats $REPEATS --workloads ${FUSED%,} 2>&1 | tee $OUT/bench_fused.txt
stamp fused workloads done
timeout 600 $D bench/fused.ts $DESIGN 2>&1 | tee $OUT/fused_design.txt
stamp fused design measurements done
# The reference alone, every workload, printing each as it finishes: the last GPU run's time
# limit killed it before it printed anything.
timeout 2400 $PYTHON bench/torch_reference.py --device $DEVICE --repeats $REPEATS 2>&1 | tee $OUT/torch_reference.txt
stamp reference done
# ResNet-18 on the software adapter would take many minutes a step: without a GPU, its cost on
# wasm instead.
CONV=lenet_step,lenet_unroll1; [ $DEVICE = cuda ] && CONV=$CONV,resnet18_step
timeout 900 $D bench/run.ts --backend webgpu --no-torch --repeats $REPEATS --workloads $CONV 2>&1 | tee $OUT/bench_tfjs_webgpu.txt
[ $DEVICE = cuda ] || timeout 600 $D bench/run.ts --backend wasm --no-torch --repeats 1 --workloads resnet18_step 2>&1 | tee $OUT/bench_resnet_wasm.txt
stamp conv models done
/usr/bin/time -v timeout 3600 $D main.ts search --backend auto --population 25 --generations $GENERATIONS --no-final --no-report --out $OUT/search.json 2>&1 | tail -40 | tee $OUT/search.txt
stamp whole search done
