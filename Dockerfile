# syntax=docker/dockerfile:1
# The hub's image: `docker compose up` (docker-compose.yml) or docs/operations.md.
#
# Stage 1 builds a wheel of skp and of every dependency, at the releases of constraints.txt;
# stage 2 installs them into a venv from those wheels only (no index, no compiler), so the final
# image has no build tools.

FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# README.md is the package's long description (pyproject.toml: readme).
COPY pyproject.toml README.md constraints.txt ./
COPY skp ./skp
RUN pip wheel --constraint constraints.txt --wheel-dir /wheels .


FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# The wheels are bind-mounted for this step only: they never become a layer of the image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --find-links /wheels skp \
    && groupadd --system --gid 10001 skp \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin skp \
    && mkdir -p /app/var \
    && chown skp:skp /app/var

COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/skp-entrypoint

# Numeric, so that orchestrators can verify runAsNonRoot.
USER 10001:10001
WORKDIR /app

ENV SKP_ENVIRONMENT=production \
    SKP_BIND_HOST=0.0.0.0 \
    SKP_BIND_PORT=8443 \
    PYTHONUNBUFFERED=1

# glibc malloc: two arenas, and blocks of 256 KiB or more from mmap, handed back when freed,
# so that a large message does not leave the server holding its peak (docs/operations.md).
ENV MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=262144 \
    MALLOC_TRIM_THRESHOLD_=262144

EXPOSE 8443

# `skp health`: the database answers and the hub answers /healthz over TLS. The start
# period covers the migrations that run before the server (docker/entrypoint.sh).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["skp", "health"]

# `serve` (the default) runs `skp migrate` first; any other arguments are an skp command,
# e.g. `docker compose run --rm hub participants list`.
ENTRYPOINT ["skp-entrypoint"]
CMD ["serve"]
