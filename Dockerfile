# syntax=docker/dockerfile:1
#
# vizier container image.
#
#   docker build -t vizier:0.1.0 .
#
# The image runs `vizier serve` as uid/gid 10001 from /var/lib/vizier (vizier's relative
# default paths, data/…, land there). Configure it with VIZIER_<SECTION>__<KEY> variables or
# a mounted file passed with VIZIER_CONFIG / --config; config/default.toml is copied to
# /usr/share/vizier/default.toml as the reference. The Helm chart in helm/vizier runs it with
# a read-only root filesystem, PostgreSQL and `vizier migrate` in a hook Job.
#
# vizier binds 127.0.0.1:8080 by default and refuses a non-loopback bind with
# authentication off. To publish a port, turn auth on and bind all addresses, e.g.
#   -e VIZIER_SERVER__BIND=0.0.0.0:8080 -e VIZIER_AUTH__ENABLED=true -e VIZIER_AUTH__JWT__…

FROM rust:1-slim-bookworm AS builder
WORKDIR /src
COPY . .
# The cache mounts keep the crate registry and build artifacts between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin vizier \
    && install -D -m 0755 target/release/vizier /out/vizier

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 vizier \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/vizier --no-create-home \
        --shell /usr/sbin/nologin vizier \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/vizier /var/lib/vizier/data
COPY --from=builder /out/vizier /usr/local/bin/vizier
COPY config/default.toml /usr/share/vizier/default.toml
WORKDIR /var/lib/vizier
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["vizier"]
CMD ["serve"]
