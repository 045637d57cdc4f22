# Multi-stage: build a virtualenv with the bot installed, copy it into a slim runtime image
# that runs as a non-root user. Runtime data lives in the /app/data volume; the content
# folder can be replaced by mounting another one on /app/content (then /reload or restart).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 bot
COPY --from=build /venv /venv
WORKDIR /app
COPY content ./content
RUN mkdir -p /app/data && chown bot:bot /app/data
USER bot
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    BOT_DB=/app/data/bot.db \
    BOT_CONTENT_DIR=/app/content
VOLUME ["/app/data"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot", "run"]
