# One image for the four services; compose.yaml picks the service with `command`.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-cache-dir . && useradd --create-home --uid 1000 pipeline \
    && mkdir -p /data && chown pipeline /data
USER pipeline
CMD ["python", "-m", "services.collector"]
