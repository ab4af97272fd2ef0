# The gateway: `node gateway/src/main.ts` from /app (RTMP routing by keyed hash, playback origin with a shared cache).
# Built by hack/images/build-images.sh from a staged context of its own (node binary, app/ with package.json,
# contract/ and gateway/ without tests, production node_modules): no operator or transcoder code in it. BASE is the
# transcoder's debootstrap base (ca-certificates, ffmpeg, user 10001), imported locally: nothing is pulled from a
# registry. ffmpeg is the WHIP media bridge's (gateway/src/whip/media-bridge.ts).
ARG BASE=localhost/livestream-base-transcoder:latest
FROM ${BASE}
# Node 24 from the repo's `node` npm package (a devDependency, so not in the production node_modules).
COPY node /usr/local/bin/node
COPY app/ /app/
WORKDIR /app
# HOME=/tmp: the pod mounts a writable emptyDir there; the root filesystem stays read-only.
ENV NODE_ENV=production HOME=/tmp
USER 10001:10001
# RTMP ingest and HTTP (playback, /healthz, /readyz, /metrics): the defaults of gateway/src/config/settings.ts.
EXPOSE 1935 8080
# Exec form only: no shell is needed at runtime.
ENTRYPOINT ["node"]
CMD ["gateway/src/main.ts"]
