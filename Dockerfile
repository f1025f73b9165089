# engage-stream worker image: the pinned runtime lock, no training/export extra (no torch).
#   docker build -t engage-stream .                            CPU (and the topics job, the producer)
#   docker build --build-arg CUDA=1 -t engage-stream:gpu .     GPU: adds the CUDA 13 libraries
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENGAGE_ENV=production

WORKDIR /app
COPY requirements/runtime.lock requirements/dev.lock requirements/
RUN pip install --no-deps -r requirements/runtime.lock

# onnxruntime-gpu (the lock's pick on Linux x86-64) needs CUDA 13 and cuDNN 9 at run time; this
# image has neither, so CUDA=1 installs them as NVIDIA's pip wheels (its cuda and cudnn extras),
# at the versions the dev lock pins for torch cu130 (nvidia-curand is not in it: pinned here).
# It only adds libraries: -c takes versions from the dev lock, installs nothing else from it.
ARG CUDA=0
RUN if [ "$CUDA" = "1" ]; then \
      pip install -c requirements/dev.lock "onnxruntime-gpu[cuda,cudnn]" nvidia-curand==10.4.5.25; \
    fi

COPY pyproject.toml README.md ./
COPY engage_stream engage_stream
COPY infra infra
COPY schemas schemas
COPY models models
# The sample shop's own data: the producer's sample questions, and the knowledge bank's
# source for `engage-stream bank build`.
COPY data/sample-shop data/sample-shop
# Editable, so the default paths (infra/topics.yaml, infra/policies.yaml, models/) resolve
# inside /app.
RUN pip install --no-deps -e . && useradd --create-home --uid 10001 engage
USER engage

# The worker's web server (ENGAGE_WEB_PORT): /metrics, /health, /ready.
EXPOSE 6066
# Healthy once the worker says it is ready; a job that has no web server (topics, produce)
# should disable this (docker-compose.yml does).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://localhost:%s/ready' % os.environ.get('ENGAGE_WEB_PORT', '6066'), timeout=3)"]

ENTRYPOINT ["engage-stream"]
CMD ["--help"]
