#!/usr/bin/env bash
# The main job, end to end on a fresh machine: install dependencies, build strata, install the
# SDK into a scratch prefix, build the example third-party plugin out of tree against it with
# pkg-config, start stratad on its embedded defaults (root, state and socket in a temporary
# directory), and show what an operator sees: `strata plugins ls`, the detailed view, and the
# same data over curl. Everything is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

scripts/setup.sh
export PATH="/usr/lib/ccache:$PATH"
[[ -f build/build.ninja ]] || meson setup build >/dev/null
ninja -C build >/dev/null

work=$(mktemp -d /tmp/strata-main-job.XXXXXX)
stratad_pid=
cleanup() {
  [[ -n $stratad_pid ]] && kill "$stratad_pid" 2>/dev/null && wait "$stratad_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "== installing the SDK into $work/sdk and building examples/hello-snapshotter against it"
meson install -C build --destdir "$work/sdk" --no-rebuild >/dev/null
pcdir=$(dirname "$(find "$work/sdk" -name strata-plugin.pc | head -1)")
cp -r examples/hello-snapshotter "$work/hello"
make -s -C "$work/hello" PKG_CONFIG_SYSROOT_DIR="$work/sdk" PKG_CONFIG_PATH="$pcdir"
mkdir -p "$work/plugins"
install -m 0644 "$work/hello/strata-snapshotter-hello.so" "$work/plugins/"

echo "== starting stratad (embedded defaults; root/state/socket under $work)"
sock="$work/strata.sock"
build/host/daemon/stratad --root "$work/root" --state "$work/state" --address "$sock" \
  --plugin-dir "$work/plugins" 2>"$work/stratad.log" &
stratad_pid=$!
for _ in $(seq 100); do
  grep -q "stratad ready" "$work/stratad.log" && break
  kill -0 "$stratad_pid" 2>/dev/null || { cat "$work/stratad.log"; exit 1; }
  sleep 0.05
done
sed 's/^/  stratad| /' "$work/stratad.log"

strata() { "$repo/build/cli/strata" --address "$sock" "$@"; }
echo "== strata plugins ls"
strata plugins ls
echo "== strata plugins ls --detailed"
strata plugins ls --detailed
echo "== curl --unix-socket $sock http://strata/v1/plugins"
curl -s --unix-socket "$sock" http://strata/v1/plugins
echo
echo "== strata plugin inspect (no daemon involved)"
strata plugin inspect "$work/plugins/strata-snapshotter-hello.so"

kill -TERM "$stratad_pid"
wait "$stratad_pid"
stratad_pid=
echo "== stratad stopped cleanly"
