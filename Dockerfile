# bffd on Debian 12: built from this repository with Debian's packages, run as a non-root user.
#   docker build -t bffd .
#   docker run -p 8082:8082 -e BFF_MOBILE_LISTEN=0.0.0.0:8082 -e USERS_URL=... bffd --profile /etc/bffd/mobile
FROM debian:12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config libh2o-evloop-dev libyaml-dev libjansson-dev \
        libcurl4-openssl-dev libhiredis-dev libssl-dev libtcmalloc-minimal4 ca-certificates python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY compose compose
COPY server server
COPY tests tests
COPY bench/fixed bench/fixed
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBFF_WERROR=ON \
    && cmake --build build -j"$(nproc)" --target bffd

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        libh2o-evloop0.13 libyaml-0-2 libjansson4 libcurl4 libhiredis0.14 libssl3 \
        libtcmalloc-minimal4 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin bffd
COPY --from=build /src/build/bffd /usr/local/bin/bffd
COPY bff /etc/bffd
COPY schemas /etc/schemas
USER 10001
# Workers follow the container's CPU quota (cgroup cpu.max) unless --threads says otherwise.
ENTRYPOINT ["/usr/local/bin/bffd"]
CMD ["--profile", "/etc/bffd/mobile"]
