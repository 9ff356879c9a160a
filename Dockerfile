# orderport as a service: `orderport sync --watch` keeping every store of a stores file current.
#
#   docker build -t orderport .
#   docker run -v $PWD/stores.toml:/etc/orderport/stores.toml:ro \
#              -v orderport-state:/var/lib/orderport orderport
#
# Several workers share stores through PostgreSQL: pass `-e ORDERPORT_DB=postgres://…` (and
# PGPASSWORD) and start as many containers as you like (docs/sync.md). SIGTERM (docker stop)
# commits the page in hand, releases the leases and exits 0.

# The base images. Official ones by default; a machine that cannot reach Docker Hub passes
# stand-ins with `--build-arg BUILD_IMAGE=… --build-arg RUNTIME_IMAGE=…` (docs/cli.md).
ARG BUILD_IMAGE=rust:1.90-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# Build stage: the release binary only.
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p orderport-cli \
 && strip target/release/orderport

# Runtime stage: a slim Debian with CA roots, an unprivileged user, the binary.
FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/orderport --create-home orderport
COPY --from=build /src/target/release/orderport /usr/local/bin/orderport
USER orderport
ENV ORDERPORT_CONFIG=/etc/orderport/stores.toml \
    ORDERPORT_DB=/var/lib/orderport/state.db
VOLUME ["/var/lib/orderport"]
# Prometheus metrics: add `--metrics-addr 0.0.0.0:9898` to the command and publish the port.
EXPOSE 9898
STOPSIGNAL SIGTERM
ENTRYPOINT ["orderport", "--log-format", "json"]
CMD ["sync", "--watch"]
