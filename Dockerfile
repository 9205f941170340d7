# Remote mode: the MCP server over Streamable HTTP for a team or the web (docs/remote.md).
# docker build -t free-generation-image . && docker run -p 8000:8000 -e FGI_SECRET_KEY=... \
#   -e FGI_PUBLIC_URL=https://mcp.example.com -v fgi-state:/data free-generation-image
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md SKILL.md LICENSE ./
COPY server ./server
RUN pip install --no-cache-dir --upgrade pip && pip wheel --no-cache-dir --wheel-dir /wheels ".[redis]"

FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    FGI_HOST=0.0.0.0 FGI_PORT=8000 FGI_STATE_DIR=/data
RUN useradd --system --uid 10001 --home-dir /data --create-home fgi
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER fgi
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('FGI_PORT', '8000'), timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["free-generation-image", "serve", "--http"]
