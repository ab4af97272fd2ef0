# PostgreSQL for the chart's session-history database (history.postgres.image), from Debian's packages: nothing is
# pulled. BASE is the debootstrap base imported locally (hack/images/build-base.sh postgres: Debian's postgresql-<major>
# server and client); PG_MAJOR its major version (from the base's packages.tsv). Built by hack/images/build-images.sh.
#
# postgres-entrypoint (hack/images/postgres-entrypoint.sh) runs initdb into $PGDATA on the data volume at the first
# start, with the passwords from mounted files (scram-sha-256; never in argv or env), then the server on 5432, TCP
# only. It runs as the base's non-root `app` (10001), the chart's history.postgres.runAsUser: initdb needs the uid in
# /etc/passwd, and the data directory it makes is that uid's.
ARG BASE=localhost/livestream-base-postgres:latest
FROM ${BASE}
ARG PG_MAJOR=15
# PATH explicitly (podman build adds a default, other builders may not): initdb, postgres and pg_isready (the chart's
# readiness probe) by bare name. HOME: /tmp, which the pod mounts writable.
ENV PATH=/usr/lib/postgresql/${PG_MAJOR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data/pgdata HOME=/tmp
COPY --chmod=0755 postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
USER 10001:10001
EXPOSE 5432
# The volume's mount point; without a volume (a plain `podman run`) the data lives there, in the container's layer, so
# it is the uid's (mode 0700 from the staged directory, which COPY keeps).
COPY --chown=10001:10001 data /var/lib/postgresql/data
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
