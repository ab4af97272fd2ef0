# The transcoder pod image. Containers set `command`/`args`: `node transcoder/src/main.ts` (transcoder),
# `node transcoder/src/relay/main.ts` (relay), `node transcoder/src/recording/finalize-main.ts` (finalize Job).
# Built by hack/images/build-images.sh from a staged context (node binary, app/ with package.json, operator/,
# transcoder/ without tests, production node_modules). BASE is the debootstrap base imported locally
# (hack/images/build-base.sh transcoder): nothing is pulled from a registry.
ARG BASE=localhost/livestream-base-transcoder:latest
FROM ${BASE}
# Node 24 from the repo's `node` npm package (a devDependency, so not in the production node_modules).
COPY node /usr/local/bin/node
COPY app/ /app/
WORKDIR /app
# HOME=/tmp: the pod mounts a writable emptyDir there; the root filesystem stays read-only.
ENV NODE_ENV=production HOME=/tmp
USER 10001:10001
# Exec form only: no shell is needed at runtime.
ENTRYPOINT ["node"]
CMD ["transcoder/src/main.ts"]
