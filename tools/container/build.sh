#!/usr/bin/env bash
# Build the aem-guides-mock image with podman where no image registry and no package index can be
# reached from inside a build (this project's CI machine):
#   1. the base, aem-mock-base:bookworm, debootstrapped from the Debian mirror apt uses, and imported
#      (kept: skipped when podman already has it; AEM_MOCK_BASE names another base to use instead);
#   2. the wheelhouse (wheelhouse/): this project's wheel and its dependencies' wheels for the base's
#      Python, made on the host, which can reach the index;
#   3. the image, aem-guides-mock:dev (AEM_MOCK_IMAGE names another tag), from Containerfile.
# Prints the image's size and the size of the layer it adds to the base (the goal: at most 80 MB).
# Needs root (debootstrap) the first time, podman, buildah's RUN --mount support (podman >= 4) and
# debootstrap. Podman runs with runc, cgroupfs and explicit ulimits: crun and the default limits are
# refused on the CI machine. Set AEM_MOCK_PODMAN_FLAGS to change the global flags.
set -euo pipefail
cd "$(dirname "$0")/../.."

base="${AEM_MOCK_BASE:-aem-mock-base:bookworm}"
image="${AEM_MOCK_IMAGE:-aem-guides-mock:dev}"
read -r -a podman_flags <<< "${AEM_MOCK_PODMAN_FLAGS:---runtime runc --cgroup-manager cgroupfs}"
podman=(podman "${podman_flags[@]}")
limits=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
python="${PYTHON:-python3}"

# 1. The base (a minimal bookworm with python3, its venv module and CA certificates).
if ! "${podman[@]}" image exists "$base"; then
  if [ "$base" != "aem-mock-base:bookworm" ]; then
    echo "build.sh: podman has no image $base (AEM_MOCK_BASE); pull it or unset AEM_MOCK_BASE" >&2
    exit 1
  fi
  mirror="${AEM_MOCK_DEBIAN_MIRROR:-}"
  if [ -z "$mirror" ]; then  # the mirror apt is configured with, else Debian's own
    mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2> /dev/null \
      | head -n 1 || true)
    mirror="${mirror:-http://deb.debian.org/debian}"
  fi
  rootfs=$(mktemp -d /var/tmp/aem-mock-base.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  echo "build.sh: making $base with debootstrap from $mirror (once; a few minutes)"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" "$mirror" \
    > "$rootfs.log" 2>&1 || { tail -20 "$rootfs.log" >&2; exit 1; }
  rm -f "$rootfs.log"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | "${podman[@]}" import --quiet - "$base" > /dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi

# 2. The wheelhouse, for the base's Python (major.minor) and machine: this project's wheel (pure
# Python) and the binary wheels of its dependencies, downloaded for that interpreter.
version=$("${podman[@]}" run --rm "${limits[@]}" --network none "$base" \
  python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
machine=$(uname -m)
platforms=()
for minor in $(seq 17 39); do platforms+=(--platform "manylinux_2_${minor}_${machine}"); done
platforms+=(--platform "manylinux2014_${machine}")
rm -rf wheelhouse
"$python" -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir wheelhouse .
"$python" -m pip download --quiet --disable-pip-version-check --dest wheelhouse --only-binary=:all: \
  --python-version "$version" --implementation cp "${platforms[@]}" wheelhouse/aem_guides_mock-*.whl

# 3. The image. The wheelhouse's digest is a build argument: buildah reuses a cached RUN step whose
# text is unchanged, whatever its bind mount holds (hatchling's wheels are reproducible: the same
# source, the same digest, the cached layer).
digest=$(cat wheelhouse/*.whl | sha256sum | cut -c1-16)
before=$("${podman[@]}" image inspect --format '{{.Id}}' "$image" 2> /dev/null || true)
"${podman[@]}" build --quiet --format docker "${limits[@]}" --build-arg "BASE=$base" \
  --build-arg "WHEELHOUSE_DIGEST=$digest" --tag "$image" --file Containerfile . > /dev/null
after=$("${podman[@]}" image inspect --format '{{.Id}}' "$image")
if [ -n "$before" ] && [ "$before" != "$after" ]; then  # the tag moved: the old image is left untagged
  "${podman[@]}" rmi "$before" > /dev/null 2>&1 || true  # (in use by a container: kept)
fi
size=$("${podman[@]}" image inspect --format '{{.Size}}' "$image")
base_size=$("${podman[@]}" image inspect --format '{{.Size}}' "$base")
echo "build.sh: $image built on $base (Python $version): $((size / 1000000)) MB, of which the layers" \
  "added to the base: $(((size - base_size) / 1000000)) MB"
