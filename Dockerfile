# syntax=docker/dockerfile:1
# The auditor in a container: slim Python, a non-root user, no secret in any layer (credentials come
# from the environment or an env file at run time), the database and reports on volumes.
#   docker build -t school-social-auditor .
#   docker run --rm --env-file .env -v "$PWD/division:/division:ro" -v auditor-data:/var/lib/auditor/data \
#     -v auditor-reports:/var/lib/auditor/reports -v auditor-keys:/var/lib/auditor/keys school-social-auditor run

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY auditor ./auditor
COPY connectors ./connectors
COPY models ./models
COPY cassettes ./cassettes
RUN pip install --no-cache-dir --prefix=/install '.[postgres,workers]'

FROM python:3.11-slim-bookworm
# supercronic: cron for containers (runs as the unprivileged user, logs to stdout); checksum-verified.
ARG SUPERCRONIC_VERSION=0.2.29
ARG SUPERCRONIC_SHA1SUM=cd48d45c4b10f3f0bfdd3a57d054cd05ac96812b
ADD https://github.com/aptible/supercronic/releases/download/v${SUPERCRONIC_VERSION}/supercronic-linux-amd64 /usr/local/bin/supercronic
RUN echo "${SUPERCRONIC_SHA1SUM}  /usr/local/bin/supercronic" | sha1sum -c - \
 && chmod 0755 /usr/local/bin/supercronic \
 && useradd --system --uid 10001 --create-home --home-dir /var/lib/auditor auditor \
 && install -d -o auditor -g auditor -m 0700 /var/lib/auditor/data /var/lib/auditor/reports /var/lib/auditor/keys
COPY --from=build /install /usr/local
COPY deploy/crontab /etc/auditor/crontab
# Paths only: every credential is read at run time from the environment (see .env.example).
ENV DATABASE_URL=sqlite:////var/lib/auditor/data/auditor.db \
    AUDITOR_REPORT_DIR=/var/lib/auditor/reports \
    AUDITOR_LOCK_FILE=/var/lib/auditor/data/auditor.lock \
    AUDITOR_HMAC_KEY_FILE=/var/lib/auditor/keys/hmac.key \
    AUDITOR_DIVISION=/division \
    PYTHONUNBUFFERED=1
USER auditor
WORKDIR /var/lib/auditor
# The key has its own volume: a copy of the data volume must not carry it (docs/operations.md).
VOLUME ["/var/lib/auditor/data", "/var/lib/auditor/reports", "/var/lib/auditor/keys"]
ENTRYPOINT ["auditor"]
CMD ["--help"]
