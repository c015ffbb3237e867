# syntax=docker/dockerfile:1
# ChatChat's three images for machines with Docker (or BuildKit, or Podman). Without one,
# `go run ./cmd/chatchat-image` builds the same images (scripts/images.sh).
#
#   docker build --target http         -t chat-chat-http:TAG .
#   docker build --target ws           -t chat-chat-ws:TAG .
#   docker build --target notification -t chat-chat-notification:TAG .
#
# The Amazon DocumentDB CA bundle is fetched at build time: the tasks' tlsCAFile names
# /etc/chatchat/global-bundle.pem. Behind a proxy, point --build-arg DOCDB_CA_URL at a mirror.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
# Static and stripped: the runtime image has no libc.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/chatchat ./cmd/chatchat
RUN mkdir -p /out/data

# distroless/static: CA certificates, /etc/passwd with nonroot (65532), /tmp; no shell.
FROM gcr.io/distroless/static-debian12:nonroot AS runtime
COPY --from=build /out/chatchat /chatchat
ARG DOCDB_CA_URL=https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
ADD --chmod=0644 ${DOCDB_CA_URL} /etc/chatchat/global-bundle.pem
COPY --from=build --chown=65532:65532 --chmod=0700 /out/data /var/lib/chatchat
USER 65532:65532
WORKDIR /var/lib/chatchat
ENV CHATCHAT_ADDR=0.0.0.0:8080 \
    CHATCHAT_DATA_DIR=/var/lib/chatchat
EXPOSE 8080
STOPSIGNAL SIGTERM
LABEL org.opencontainers.image.source="https://github.com/chatchat/chatchat" \
      org.opencontainers.image.licenses="NOASSERTION"

FROM runtime AS http
LABEL org.opencontainers.image.title="chat-chat-http" io.chatchat.role="api"
ENTRYPOINT ["/chatchat", "serve", "--roles", "api"]

FROM runtime AS ws
LABEL org.opencontainers.image.title="chat-chat-ws" io.chatchat.role="ws"
ENTRYPOINT ["/chatchat", "serve", "--roles", "ws"]

FROM runtime AS notification
LABEL org.opencontainers.image.title="chat-chat-notification" io.chatchat.role="notify"
ENTRYPOINT ["/chatchat", "serve", "--roles", "notify"]
