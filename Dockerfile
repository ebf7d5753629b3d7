# loraport as a service: the panel, the API, the bots' endpoints and the job worker in one container.
#   CPU (default):  docker build -t loraport .
#   NVIDIA GPU:     docker build -t loraport:cuda \
#                     --build-arg TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128" \
#                     --build-arg EXTRAS="gpu" .
#                   and run it with `--gpus all` (NVIDIA Container Toolkit on the host).
# The workspace (database, datasets, runs, cache) lives on the /data volume; see docs/deploy.md.
FROM python:3.11-slim-bookworm

# torch is installed first and on its own: a bare `torch` from the default index is the multi-GB CUDA build.
ARG TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
ARG EXTRAS=""

# tini as PID 1 forwards SIGTERM to loraport and reaps orphans; PyAV's wheels bundle FFmpeg.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY trainer trainer
COPY tools tools
COPY agent agent
COPY web web
COPY cli cli
COPY recipes recipes
RUN pip install --no-cache-dir $TORCH_SPEC \
 && pip install --no-cache-dir -e ".${EXTRAS:+[$EXTRAS]}"

RUN useradd --create-home --uid 1000 loraport && mkdir -p /data && chown loraport /data
USER loraport
ENV LORAPORT_HOME=/data \
    LORAPORT_HOST=0.0.0.0 \
    LORAPORT_PORT=8000 \
    PYTHONUNBUFFERED=1 \
    OMP_NUM_THREADS=1
VOLUME /data
EXPOSE 8000

# Liveness. Serving beyond loopback needs LORAPORT_TOKEN (loraport refuses to start without it), so the probe
# sends it too. /api/ready additionally says whether the job worker runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import os, urllib.request as u; r = u.Request('http://127.0.0.1:8000/api/health', headers={'Authorization': 'Bearer ' + os.environ.get('LORAPORT_TOKEN', '')}); u.urlopen(r, timeout=4)"

# A stop must give the worker time to end its step and keep its checkpoint: allow 45 s (docker stop -t 45,
# compose's stop_grace_period, Kubernetes' terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--"]
CMD ["loraport", "serve"]
