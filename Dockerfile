# One image for the four services; compose.yaml picks the service with `command`.
# The entrypoint starts as root only to give the data folder to PUID:PGID, then runs the service as
# that user (docker/entrypoint.sh); started with `user:` it runs the command as given.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PUID=1000 PGID=1000 UMASK=002 DATA_DIR=/data
WORKDIR /app
# The dependencies at the versions and hashes of the lock (make lock), then the project alone.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY docker/entrypoint.sh /usr/local/bin/pipeline-entrypoint
RUN pip install --no-cache-dir --no-deps . && useradd --create-home --uid 1000 pipeline \
    && mkdir -p /data && chown pipeline:pipeline /data \
    && chmod 0755 /usr/local/bin/pipeline-entrypoint
ENTRYPOINT ["pipeline-entrypoint"]
CMD ["python", "-m", "services.collector"]
