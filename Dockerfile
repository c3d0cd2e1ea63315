# Reciprocity server image: build a static-stdlib release binary, run it as a non-root user in a slim
# Debian with only the shared libraries it links (OpenSSL's libcrypto, SQLite, libcurl for email notices).
# Configuration comes from environment variables only; the database lives on the /data volume.
#
#   docker build -t reciprocity .
#   docker run -d -p 8080:8080 -v reciprocity-data:/data reciprocity
#   docker run --rm -v reciprocity-data:/data reciprocity admin program create acme-mentoring

FROM swift:6.3-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl-dev libsqlite3-dev libcurl4-openssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY Package.swift ./
COPY Sources ./Sources
COPY Plugins ./Plugins
COPY Tests ./Tests
RUN swift build -c release --product reciprocityd --static-swift-stdlib \
    && mkdir /staging \
    && cp "$(swift build -c release --show-bin-path)/reciprocityd" /staging/ \
    && cp -R "$(swift build -c release --show-bin-path)"/*.resources /staging/

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl3 libsqlite3-0 libcurl4 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 reciprocity \
    && useradd --system --uid 10001 --gid reciprocity --home-dir /data --no-create-home reciprocity \
    && mkdir /data \
    && chown reciprocity:reciprocity /data
COPY --from=build /staging/ /app/
ENV RECIPROCITY_HOST=0.0.0.0 \
    RECIPROCITY_PORT=8080 \
    RECIPROCITY_DATABASE=/data/reciprocity.sqlite \
    RECIPROCITY_LOG_FORMAT=json
# The admin API and /metrics stay off unless a credential is given, preferably as a secret file:
#   docker run ... --secret reciprocity_admin -e RECIPROCITY_ADMIN_CREDENTIAL_FILE=/run/secrets/reciprocity_admin
#   docker run ... --secret reciprocity_metrics -e RECIPROCITY_METRICS_CREDENTIAL_FILE=/run/secrets/reciprocity_metrics
VOLUME ["/data"]
EXPOSE 8080
USER 10001:10001
WORKDIR /data
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/app/reciprocityd", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/reciprocityd"]
CMD ["serve"]
