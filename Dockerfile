# engage-stream worker image: the pinned runtime lock, no training/export extra (no torch).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENGAGE_ENV=production

WORKDIR /app
COPY requirements/runtime.lock requirements/runtime.lock
RUN pip install --no-deps -r requirements/runtime.lock

COPY pyproject.toml README.md ./
COPY engage_stream engage_stream
COPY infra infra
COPY schemas schemas
COPY models models
# Editable, so the default paths (infra/topics.yaml, models/) resolve inside /app.
RUN pip install --no-deps -e . && useradd --create-home --uid 10001 engage
USER engage

ENTRYPOINT ["engage-stream"]
CMD ["--help"]
