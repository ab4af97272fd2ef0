# MinIO for the end-to-end tests' S3 (recordings): the server binary built by hack/tools/build.sh minio (static,
# CGO_ENABLED=0) on nothing else. The staged context adds /etc/passwd and /etc/group naming the uid, /tmp (mode
# 1777; HOME, where MinIO keeps ~/.minio/certs) and /data owned by the uid (the pod mounts an emptyDir there).
# Run with `server /data` (the default CMD). Built by hack/images/build-images.sh.
FROM scratch
COPY rootfs/ /
COPY --chown=10001:10001 data/ /data/
COPY minio /minio
ENV HOME=/tmp
USER 10001:10001
EXPOSE 9000
ENTRYPOINT ["/minio"]
CMD ["server", "/data"]
