# Lossmith as a service: `main.ts start` with the dependencies pinned by deno.lock.
#
#   docker build -t lossmith .
#   docker run -p 8000:8000 -v lossmith-data:/data lossmith
#   docker exec -it <container> deno task keys create alice   # needed: it listens on 0.0.0.0
#
# GPU hosts (NVIDIA): Deno's WebGPU reaches the GPU through Vulkan, so the image carries the
# Vulkan loader (libvulkan1), and the NVIDIA container toolkit must mount the driver's Vulkan
# ICD, which it does only when NVIDIA_DRIVER_CAPABILITIES includes `graphics`:
#
#   docker run --gpus all -e NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics \
#     -p 8000:8000 -v lossmith-data:/data lossmith
#
# With LOSSMITH_BACKEND=auto (the default) the workers take WebGPU on a real adapter and fall
# back to wasm otherwise; /healthz reports the backend in use.
#
# Several nodes on one PostgreSQL database instead of the SQLite file in /data: give each the
# database URL (uploads are then kept in the database; ops/compose.yaml runs three nodes):
#
#   docker run -e LOSSMITH_DATABASE_URL=postgres://user:pass@db:5432/lossmith -p 8000:8000 lossmith

FROM denoland/deno:2.9.6

# The Vulkan loader, for WebGPU on GPU hosts (harmless elsewhere).
RUN apt-get update \
  && apt-get install -y --no-install-recommends libvulkan1 \
  && rm -rf /var/lib/apt/lists/*

RUN mkdir -p /app /data && chown deno:deno /app /data
WORKDIR /app
COPY --chown=deno:deno . .
USER deno

# The npm packages exactly as deno.lock pins them (--frozen fails on any drift), fetched at
# build time so that the container needs no registry at run time.
RUN deno install --frozen --entrypoint main.ts

# Everything the service keeps (SQLite database, uploaded files) lives in /data; with
# LOSSMITH_DATABASE_URL, the database is PostgreSQL and /data holds this node's copies of uploads.
VOLUME ["/data"]
# A deployed service starts empty: no embedded default search on its first start.
ENV LOSSMITH_DB=/data/lossmith.sqlite \
    LOSSMITH_HOST=0.0.0.0 \
    LOSSMITH_DEFAULT_SEARCH=false \
    PORT=8000 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD ["deno", "eval", "const r = await fetch('http://127.0.0.1:' + (Deno.env.get('PORT') ?? '8000') + '/healthz'); Deno.exit(r.ok ? 0 : 1)"]

# SIGTERM (docker stop) stops gracefully; running searches resume at the next start.
# The permissions of `deno task start` (README, Permissions), with the data in /data: network
# (listening, URL datasets, PostgreSQL), reading the app and /data, writing /data only, the
# variables it reads (every other one reads as unset), FFI for OpenBLAS (if installed), the
# machine's memory size and its host name.
CMD ["deno", "run", "--frozen", "--allow-net", \
  "--allow-read=/app,/data,/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0,/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0", \
  "--allow-write=/data", \
  "--allow-env=PORT,LOSSMITH_*,PG*,OPENBLAS_NUM_THREADS", \
  "--ignore-env", \
  "--allow-ffi=/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0,/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0", \
  "--allow-sys=systemMemoryInfo,hostname", \
  "main.ts", "start"]
