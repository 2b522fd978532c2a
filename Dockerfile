# lanyard in a container: one static binary (musl), its data directory a
# volume, its health checked by the binary itself.
#
#   docker build -t lanyard .
#   docker run -p 8080:8080 -v lanyard-data:/data lanyard
#
# The organizer token is made on the first start and kept in the volume
# (`docker run … lanyard` prints where); set LANYARD_ADMIN_TOKEN to choose
# it. A conference file: mount it and add `--config /config/lanyard.toml`
# after `serve`. HTTPS: put a proxy in front (README, "HTTPS at the
# venue"), or mount a certificate and use --tls-cert/--tls-key.

FROM rust:1-alpine AS build
# The C parts (SQLite, ring) compile against musl; the binary links statically.
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p lanyard \
    && install -D target/release/lanyard /out/lanyard \
    && mkdir -p /out/data

# CA certificates (for SMTP over TLS and webhooks), /tmp and a non-root
# user, nothing else: no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/lanyard /usr/local/bin/lanyard
COPY --from=build --chown=65532:65532 /out/data /data
ENV LANYARD_ADDR=0.0.0.0:8080 \
    LANYARD_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/lanyard", "health"]
ENTRYPOINT ["/usr/local/bin/lanyard"]
CMD ["serve"]
