# One image for every Netsterk process: the five nameko services, the Temporal worker, the
# bridge and the development mail sink. Pick the process with the command, e.g.
#   docker run netsterk:0.1.0 python -m netsterk_ops.run_service intake
# Built from the project's pyproject.toml (`pip install .`); no compilers, no test tools.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NETSTERK_ENV=production \
    NETSTERK_VAR_DIR=/var/lib/netsterk

RUN groupadd --system --gid 10001 netsterk \
    && useradd --system --uid 10001 --gid netsterk --home-dir /home/netsterk --create-home \
       --shell /usr/sbin/nologin netsterk \
    && install -d -o netsterk -g netsterk -m 0750 /var/lib/netsterk

# Source only in a throw-away build directory: the processes import the installed package.
COPY pyproject.toml /tmp/netsterk-src/
COPY netsterk /tmp/netsterk-src/netsterk
COPY netsterk_ops /tmp/netsterk-src/netsterk_ops
COPY services /tmp/netsterk-src/services
COPY workflows /tmp/netsterk-src/workflows
RUN pip install /tmp/netsterk-src \
    && rm -rf /tmp/netsterk-src \
    && python -c "import netsterk, netsterk_ops.run_service, services"

COPY deploy/docker/usage.txt /usr/local/share/netsterk/usage.txt

USER 10001:10001
WORKDIR /home/netsterk
VOLUME ["/var/lib/netsterk"]
# web ports (portal, intake, reporting), mail sink (HTTP, SMTP), Prometheus /metrics
EXPOSE 8000 8001 8003 8025 2525 9100

CMD ["cat", "/usr/local/share/netsterk/usage.txt"]
