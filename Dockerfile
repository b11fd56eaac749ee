# syntax=docker/dockerfile:1
# Build stage: Debian 12 with the project's own bootstrap (apt only).
FROM debian:12 AS build
WORKDIR /src
COPY scripts/bootstrap.sh scripts/bootstrap.sh
RUN apt-get update && apt-get install -y --no-install-recommends sudo ca-certificates \
    && scripts/bootstrap.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DNFL_BUILD_TESTS=OFF -DNFL_BUILD_BENCH=OFF \
    -DNFL_SHARE_DIR=/usr/share/nfl-compute \
    && cmake --build build -j"$(nproc)"

# Runtime stage: the binary, redis-server, the bundled data; no compiler.
FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      redis-server redis-tools libhiredis0.14 libsqlite3-0 libssl3 libfmt9 libspdlog1.10 libtbb12 \
      ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/nfl-compute --uid 10001 nfl \
    && mkdir -p /data && chown nfl:nfl /data
COPY --from=build /src/build/nfl-compute /usr/local/bin/nfl-compute
COPY share/ /usr/share/nfl-compute/
COPY docker/redis.conf /etc/nfl-compute/redis.conf
COPY docker/entrypoint.sh /usr/local/bin/nfl-entrypoint
USER nfl
ENV DATA_DIR=/data STATE_DIR=/var/lib/nfl-compute QUEUE_BACKEND=redis REDIS_HOST=localhost
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["nfl-compute", "health"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/nfl-entrypoint"]
CMD ["worker"]
