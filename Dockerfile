# syntax=docker/dockerfile:1
# ezapi in a container, Debian 12. The build stage runs scripts/ezapi-build,
# the script CI runs too, so a green CI proves these steps without a
# container engine. The runtime stage holds the binary, its shared
# libraries and nothing else; it runs as the unprivileged user ezapi.
#
#   docker build -t ezapi .
#   docker run -e EZAPI_PG_DSN=... -e EZAPI_REDIS_URL=... \
#       -e EZAPI_ADMIN_JWT_SECRET=... -e EZAPI_MASTER_JWT_SECRET=... \
#       -e EZAPI_SECRETS_KEY=... -p 8080:8080 ezapi
#   or mount a config file: -v /srv/ezapi.conf:/etc/ezapi/ezapi.conf:ro

FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN scripts/ezapi-build install /out \
    && rm -f /out/etc/ezapi/ezapi.conf \
    && rm -rf /out/usr/lib/systemd /out/lib/systemd /out/usr/lib/sysusers.d

FROM debian:12-slim
# the libraries ezapi links, as `objdump -p ezapi` lists them
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libevent-2.1-7 libevent-openssl-2.1-7 libhiredis0.14 libjansson4 libjwt0 \
        libmsgpackc2 libpcre2-8-0 libpq5 libssl3 libsystemd0 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system ezapi \
    && useradd --system --gid ezapi --home-dir /nonexistent --shell /usr/sbin/nologin ezapi
COPY --from=build /out/usr/ /usr/
COPY --from=build /out/etc/ezapi/ /etc/ezapi/
# Every key can come from an EZAPI_* variable, which wins over the file; the
# image's file is empty so that variables alone are a complete config.
RUN printf '%s\n' '# Empty: configured by EZAPI_* variables. Mount a file here instead,' \
        '# starting from /etc/ezapi/ezapi.conf.sample.' >/etc/ezapi/ezapi.conf \
    && chown root:ezapi /etc/ezapi/ezapi.conf && chmod 0640 /etc/ezapi/ezapi.conf \
    && ezapi --version
ENV EZAPI_LISTEN=0.0.0.0:8080 \
    EZAPI_LOG_FORMAT=json
USER ezapi
EXPOSE 8080
# /health is liveness (the process answers); /health/ready also needs
# PostgreSQL and Redis. bash's /dev/tcp: no HTTP client in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /health HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/sbin/ezapi"]
CMD ["-c", "/etc/ezapi/ezapi.conf"]
