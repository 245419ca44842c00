#!/usr/bin/env bash
# The main job, end to end on a fresh machine: install dependencies, build strata, install it
# with the SDK into a scratch prefix, build the example third-party plugin out of tree against the
# SDK with pkg-config, start stratad on its embedded defaults (root, state and socket in a
# temporary directory) with the installed plugins and the example, then do what an operator does
# all day: import a sample image (generated here, deterministically, no network), unpack it with
# the overlayfs snapshotter, mount it, look inside, and show `strata plugins ls` and
# `strata snapshots tree`. Everything is unmounted and removed afterwards.
#
# Unpacking (owners, whiteout devices, overlay mounts) needs root: run as root, or the script
# re-runs itself with sudo after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

scripts/setup.sh
export PATH="/usr/lib/ccache:$PATH"
[[ -f build/build.ninja ]] || meson setup build >/dev/null
ninja -C build >/dev/null

if [[ $(id -u) -ne 0 ]]; then
  echo "== unpacking and mounting need root: continuing under sudo"
  exec sudo --preserve-env=PATH "$0" "$@"
fi

work=$(mktemp -d /tmp/strata-main-job.XXXXXX)
stratad_pid=
cleanup() {
  mountpoint -q "$work/rootfs" 2>/dev/null && umount -l "$work/rootfs"
  [[ -n $stratad_pid ]] && kill "$stratad_pid" 2>/dev/null && wait "$stratad_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "== installing strata and its SDK into $work/sdk, building examples/hello-snapshotter"
meson install -C build --destdir "$work/sdk" --no-rebuild >/dev/null
pcdir=$(dirname "$(find "$work/sdk" -name strata-plugin.pc | head -1)")
cp -r examples/hello-snapshotter "$work/hello"
make -s -C "$work/hello" PKG_CONFIG_SYSROOT_DIR="$work/sdk" PKG_CONFIG_PATH="$pcdir"
plugins=$(dirname "$(find "$work/sdk" -name strata-service-images.so | head -1)")
install -m 0644 "$work/hello/strata-snapshotter-hello.so" "$plugins/"

echo "== starting stratad (embedded defaults; root/state/socket under $work)"
sock="$work/strata.sock"
build/host/daemon/stratad --root "$work/root" --state "$work/state" --address "$sock" \
  --plugin-dir "$plugins" 2>"$work/stratad.log" &
stratad_pid=$!
for _ in $(seq 200); do
  grep -q "stratad ready" "$work/stratad.log" && break
  kill -0 "$stratad_pid" 2>/dev/null || { cat "$work/stratad.log"; exit 1; }
  sleep 0.05
done
sed 's/^/  stratad| /' "$work/stratad.log"

strata() { "$repo/build/cli/strata" --address "$sock" "$@"; }
echo "== strata plugins ls"
strata plugins ls

echo "== scripts/make-sample-image.py: a 3-layer OCI image layout (whiteout, opaque dir, links)"
python3 scripts/make-sample-image.py "$work/sample" --name localhost/strata/sample:latest
echo "== strata image import"
strata image import "$work/sample"
strata image ls
echo "== strata image unpack --snapshotter overlayfs --sync-fs"
strata image unpack localhost/strata/sample:latest --snapshotter overlayfs --sync-fs
echo "== strata snapshots tree"
strata snapshots --snapshotter overlayfs tree
echo "== strata image unpack --snapshotter native (each layer a full copy of its parent)"
strata image unpack localhost/strata/sample:latest --snapshotter native
strata snapshots --snapshotter native tree
echo "== strata image unpack --snapshotter blockfile (each layer an ext4 image on a loop device)"
strata image unpack localhost/strata/sample:latest --snapshotter blockfile
strata snapshots --snapshotter blockfile tree

echo "== strata image mount (a read-only view of the top layer)"
mkdir "$work/rootfs"
strata image mount localhost/strata/sample:latest "$work/rootfs"
(cd "$work/rootfs" && find . -mindepth 1 -maxdepth 3 | sort | sed 's/^/  /')
echo "-- etc/os-release:"
sed 's/^/  /' "$work/rootfs/etc/os-release"
echo "-- bin/hello:"
"$work/rootfs/bin/hello" | sed 's/^/  /'
strata image unmount "$work/rootfs"

echo "== the same data over HTTP: curl --unix-socket $sock http://strata/v1/images"
curl -s --unix-socket "$sock" http://strata/v1/images | head -c 400
echo " ..."
echo "== strata plugin inspect (no daemon involved)"
strata plugin inspect "$plugins/strata-snapshotter-hello.so"

kill -TERM "$stratad_pid"
wait "$stratad_pid"
stratad_pid=
echo "== stratad stopped cleanly; removing $work"
