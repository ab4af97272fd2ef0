# The pod sandbox image (containerd's sandbox_image): upstream's pause, compiled by hack/tools/build.sh pause from
# build/pause/linux/pause.c of the pinned k8s.io/kubernetes module as a static binary, so the image holds nothing
# else. Same shape as registry.k8s.io/pause: FROM scratch, /pause, uid 65535. Built by hack/images/build-images.sh.
FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT ["/pause"]
