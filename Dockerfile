# syntax=docker/dockerfile:1
# compose-topology: the web service and the CLI, with Graphviz from Debian.
#
#   docker build -t compose-topology .
#   docker run --rm -p 127.0.0.1:8000:8000 compose-topology
#
# The build stage turns the package and its dependencies into wheels; the
# final stage installs those wheels without a compiler, pip cache or apt lists.

FROM python:3.11-slim-bookworm AS build

WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels .


FROM python:3.11-slim-bookworm

LABEL org.opencontainers.image.title="compose-topology" \
      org.opencontainers.image.description="Draw what a Docker Compose project runs and who can reach it" \
      org.opencontainers.image.licenses="Apache-2.0"

# Debian stable replaces a package version when it ships a security fix, so a
# pinned version would stop building; the base image tag fixes the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends graphviz fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin app

# The wheels come in through a bind mount, so they never become a layer. The
# version matches pyproject.toml (a test checks it).
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --disable-pip-version-check --no-index \
        --find-links=/wheels compose-topology==0.1.0

WORKDIR /app
COPY templates ./templates
COPY static ./static

# WEB_CONCURRENCY is uvicorn's worker count. XDG_CACHE_HOME keeps Graphviz's
# font cache writes on /tmp, so the root filesystem can be read-only.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    XDG_CACHE_HOME=/tmp/.cache \
    WEB_CONCURRENCY=2 \
    COMPOSE_TOPOLOGY_TEMPLATES_DIR=/app/templates \
    COMPOSE_TOPOLOGY_STATIC_DIR=/app/static

USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["uvicorn", "--factory", "service.web.app:create_app_from_environ", \
     "--host", "0.0.0.0", "--port", "8000", "--timeout-graceful-shutdown", "20", \
     "--no-access-log"]
