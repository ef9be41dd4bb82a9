#!/usr/bin/env bash
# The .deb end to end on this machine (root only; .ci/test calls it): build it from the
# debug binary `cargo test` built, check its contents and control fields, install it with
# dpkg (no systemd running here), start the installed binary as the flowcfd user with the
# packaged settings, wait for /health/ready, then purge it and check that the user, the
# data and the settings are gone. The machine is left as it was.
#   tests/packaging/deb.sh [FLOWCFD_BINARY]
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "deb.sh: needs root (dpkg -i)" >&2; exit 1; }
bin=${1:-${CARGO_TARGET_DIR:-$PWD/target}/debug/flowcfd}
fail() { echo "deb.sh: FAIL: $*" >&2; exit 1; }

if dpkg -s flowcfd >/dev/null 2>&1; then fail "a flowcfd package is already installed; not touching it"; fi
getent passwd flowcfd >/dev/null && fail "a flowcfd user exists already; not touching it"
[ -e /var/lib/flowcfd ] && fail "/var/lib/flowcfd exists already; not touching it"
[ -e /etc/flowcfd ] && fail "/etc/flowcfd exists already; not touching it"

work=$(mktemp -d /tmp/flowcfd-deb.XXXXXX)
pid=""
cleanup() {
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  if dpkg -s flowcfd >/dev/null 2>&1; then dpkg --purge flowcfd >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A runner that is not static is refused. The packaged runner is the musl build .ci/test
# made (FLOWCFD_TEST_RUNNER); run alone, /sbin/ldconfig (static-pie on Debian) stands in.
runner=${FLOWCFD_TEST_RUNNER:-/sbin/ldconfig}
if packaging/build-deb.sh --bin "$bin" --runner /bin/true --out "$work" --fast 2>"$work/err"; then
  fail "build-deb.sh packaged a dynamically linked runner"
fi
grep -q "dynamically linked" "$work/err" || fail "no clear message for a dynamic runner: $(cat "$work/err")"
deb=$(packaging/build-deb.sh --bin "$bin" --runner "$runner" --out "$work" --fast)
version=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)
[ "$deb" = "$work/flowcfd_${version}_$(dpkg --print-architecture).deb" ] || fail "unexpected name $deb"

dpkg-deb -c "$deb" >"$work/contents"
for f in ./usr/bin/flowcfd ./usr/lib/flowcfd/flowcfd-runner ./lib/systemd/system/flowcfd.service \
  ./lib/systemd/system/flowcfd-worker.service ./etc/flowcfd/flowcfd.toml ./usr/share/doc/flowcfd/copyright; do
  grep -q " $f\$" "$work/contents" || fail "$f is not in the package"
done
grep -q '^-rwxr-xr-x root/root .* ./usr/bin/flowcfd$' "$work/contents" || fail "/usr/bin/flowcfd: mode or owner"
dpkg-deb -I "$deb" conffiles | grep -qx /etc/flowcfd/flowcfd.toml || fail "flowcfd.toml is not a conffile"
depends=$(dpkg-deb -f "$deb" Depends)
for p in libc6 libssl3 adduser; do
  [[ ",$depends," == *", $p "* || ",$depends," == *",$p "* || ",$depends," == *" $p,"* ]] \
    || fail "Depends lacks $p: $depends"
done
# Every dependency is a package Debian has (apt knows it), none from outside.
for p in $(echo "$depends" | tr ',' '\n' | sed 's/(.*)//; s/|.*//' | tr -d ' '); do
  apt-cache show "$p" >/dev/null 2>&1 || fail "Depends names $p, which apt does not know"
done
[ "$(dpkg-deb -f "$deb" Recommends)" = "openfoam, openmpi-bin" ] || fail "Recommends: $(dpkg-deb -f "$deb" Recommends)"
unit=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/flowcfd.service)
for want in User=flowcfd ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes ReadWritePaths=/var/lib/flowcfd \
  ProtectHome=yes UMask=0077 Environment=FLOWCFD_CONFIG=/etc/flowcfd/flowcfd.toml "ExecStart=/usr/bin/flowcfd serve"; do
  grep -qx "$want" <<<"$unit" || fail "flowcfd.service lacks $want"
done

# Debian's own package checks (the overrides are justified in packaging/debian/).
if command -v lintian >/dev/null; then
  lintian --tag-display-limit 0 --fail-on error,warning "$deb" >"$work/lintian" 2>&1 \
    || { cat "$work/lintian"; fail "lintian"; }
fi

dpkg -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i"; }
getent passwd flowcfd >/dev/null || fail "postinst made no flowcfd user"
[ "$(stat -c '%U %a' /var/lib/flowcfd)" = "flowcfd 700" ] || fail "/var/lib/flowcfd: $(stat -c '%U %a' /var/lib/flowcfd)"
[ "$(stat -c '%U:%G %a' /etc/flowcfd/flowcfd.toml)" = "root:flowcfd 640" ] || fail "flowcfd.toml: $(stat -c '%U:%G %a' /etc/flowcfd/flowcfd.toml)"
# The packaged runner runs (on this machine, as on a cluster: it is static).
if [ -n "${FLOWCFD_TEST_RUNNER:-}" ]; then
  /usr/lib/flowcfd/flowcfd-runner --version | grep -qx "flowcfd $version" || fail "the packaged runner does not run"
fi
# Every directive of both units is one this systemd knows (a typo in the hardening would
# otherwise be ignored with a warning at boot).
if command -v systemd-analyze >/dev/null; then
  for u in flowcfd flowcfd-worker; do
    systemd-analyze verify "/lib/systemd/system/$u.service" 2>&1 | grep -v 'sysinit.target\|Failed to create' \
      | grep . && fail "systemd-analyze verify $u.service"
  done
fi

# The installed binary, as the unit runs it: user flowcfd, the packaged settings, the data
# directory as working directory, a free port instead of 8080.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd /var/lib/flowcfd && umask 0077 && exec setpriv --reuid=flowcfd --regid=flowcfd --init-groups \
  env -i PATH=/usr/bin:/bin HOME=/var/lib/flowcfd FLOWCFD_CONFIG=/etc/flowcfd/flowcfd.toml \
  FLOWCFD_BIND="127.0.0.1:$port" /usr/bin/flowcfd serve) >"$work/serve.log" 2>&1 &
pid=$!
ready=""
for _ in $(seq 300); do
  if curl -fsS "http://127.0.0.1:$port/health/ready" >"$work/ready" 2>/dev/null; then ready=1; break; fi
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log"; fail "flowcfd serve exited"; }
  sleep 0.1
done
[ -n "$ready" ] || { cat "$work/serve.log"; fail "/health/ready never answered 200"; }
[ "$(ps -o user= -p "$pid")" = flowcfd ] || fail "the server does not run as flowcfd"
[ -f /var/lib/flowcfd/flowcfd.db ] || fail "no SQLite database in /var/lib/flowcfd"
[ "$(stat -c %U /var/lib/flowcfd/flowcfd.db)" = flowcfd ] || fail "the database is not the flowcfd user's"
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "flowcfd serve did not stop on SIGTERM"
wait "$pid" 2>/dev/null || true
pid=""

# remove keeps the data, the settings and the user; purge takes them.
dpkg --remove flowcfd >/dev/null
[ -d /var/lib/flowcfd ] && [ -f /etc/flowcfd/flowcfd.toml ] && getent passwd flowcfd >/dev/null \
  || fail "dpkg --remove deleted data, settings or the user"
[ -e /usr/bin/flowcfd ] && fail "dpkg --remove left /usr/bin/flowcfd"
dpkg --purge flowcfd >/dev/null
getent passwd flowcfd >/dev/null && fail "purge left the flowcfd user"
getent group flowcfd >/dev/null && fail "purge left the flowcfd group"
[ -e /var/lib/flowcfd ] && fail "purge left /var/lib/flowcfd"
[ -e /etc/flowcfd ] && fail "purge left /etc/flowcfd"
echo "deb.sh: ok ($(basename "$deb"): contents, control, install, /health/ready as flowcfd, remove, purge)"
