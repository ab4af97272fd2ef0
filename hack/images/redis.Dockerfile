# Redis for the chart's bundled Redis (redis.image), standing in for redis:*-alpine, which cannot be pulled here.
# BASE is the debootstrap base imported locally (hack/images/build-base.sh redis: Debian's redis-server, user `redis`
# renumbered to 999:999, /data owned by it). Built by hack/images/build-images.sh.
#
# The chart sets `command: [redis-server, /etc/redis/redis.conf]` (its config mounted from a Secret, `dir /data` on
# an emptyDir, no daemonize, log to stdout), which replaces ENTRYPOINT and CMD; runAsUser/fsGroup 999 as here.
ARG BASE=localhost/livestream-base-redis:latest
FROM ${BASE}
# PATH explicitly (podman build adds this default, other builders may not): the chart's command is a bare
# `redis-server`. HOME: the one writable directory.
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/data
WORKDIR /data
USER 999:999
EXPOSE 6379
# Without the chart's config: foreground (the default), data in /data, and reachable from outside the container
# (protected mode refuses non-loopback clients when no password is set; the official image lifts it likewise).
CMD ["redis-server", "--dir", "/data", "--protected-mode", "no"]
