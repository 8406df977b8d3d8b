# jubao's gateway image: `docker build -t jubao .`, then `docker run jubao` serves the gateway;
# `docker run jubao worker` / `jubao migrate` / `jubao simulator` run the other processes.
# The wheel is built in a throwaway stage; the image holds only the wheel's server install.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir "$(ls /wheels/jubao-*.whl)[server]" \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /var/lib/jubao --create-home jubao
USER 10001
WORKDIR /var/lib/jubao
ENV JUBAO_HOST=0.0.0.0 \
    JUBAO_PORT=8600 \
    JUBAO_DATA_DIR=/var/lib/jubao \
    JUBAO_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
EXPOSE 8600
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8600/healthz', timeout=2)"]
ENTRYPOINT ["jubao"]
CMD ["serve"]
