#!/usr/bin/env bash
# Builds target/debian/flowcfd_<version>_<arch>.deb with dpkg-deb (no cargo-deb: it would
# cost CI a long `cargo install`, and the package is a handful of files).
#
#   packaging/build-deb.sh                      # release build (built first if missing)
#   packaging/build-deb.sh --profile debug      # the binary `cargo build` made
#   packaging/build-deb.sh --bin PATH           # any flowcfd binary
#   options: --runner PATH | --no-runner, --out DIR, --fast (gzip -1 instead of xz),
#            --no-strip
#
# Binaries come from $CARGO_TARGET_DIR (default ./target); the .deb goes to target/debian/
# under the repository unless --out says otherwise. The static runner
# (target/x86_64-unknown-linux-musl/release/flowcfd) is packaged as
# /usr/lib/flowcfd/flowcfd-runner when it has been built, or when --runner names one.
# Depends is computed from the binary's shared libraries (dpkg-shlibdeps).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
die() { echo "build-deb.sh: $*" >&2; exit 1; }

profile=release bin="" runner="" no_runner=0 out="$repo/target/debian" fast=0 strip=1
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile=${2:?--profile needs release or debug}; shift 2 ;;
    --bin) bin=${2:?--bin needs a path}; shift 2 ;;
    --runner) runner=${2:?--runner needs a path}; shift 2 ;;
    --no-runner) no_runner=1; shift ;;
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --fast) fast=1; shift ;;
    --no-strip) strip=0; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
case "$profile" in release|debug) ;; *) die "--profile is release or debug, not $profile" ;; esac
for tool in dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || die "$tool is missing: apt-get install dpkg-dev"
done

target_dir=${CARGO_TARGET_DIR:-$repo/target}
version=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || die "no version in Cargo.toml's [package]"
arch=$(dpkg --print-architecture)

if [ -z "$bin" ]; then
  bin="$target_dir/$profile/flowcfd"
  if [ ! -x "$bin" ]; then
    [ "$profile" = release ] || die "$bin is missing: run cargo build first"
    echo "building $bin (cargo build --release --locked)"
    cargo build --release --locked --bin flowcfd
  fi
fi
[ -x "$bin" ] || die "$bin is not an executable"
if [ -z "$runner" ] && [ $no_runner = 0 ] && [ -x "$target_dir/x86_64-unknown-linux-musl/release/flowcfd" ]; then
  runner="$target_dir/x86_64-unknown-linux-musl/release/flowcfd"
fi
if [ -n "$runner" ]; then
  [ -x "$runner" ] || die "runner $runner is not an executable"
  # Uploaded to clusters with other C libraries: it must need none.
  if ldd "$runner" >/dev/null 2>&1 && ! ldd "$runner" 2>&1 | grep -q 'statically linked'; then
    die "runner $runner is dynamically linked; build it with --target x86_64-unknown-linux-musl"
  fi
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/flowcfd" \
  "$root/usr/share/doc/flowcfd"
install -m 0755 "$bin" "$root/usr/bin/flowcfd"
if [ -n "$runner" ]; then
  install -d "$root/usr/lib/flowcfd"
  install -m 0755 "$runner" "$root/usr/lib/flowcfd/flowcfd-runner"
fi
if [ $strip = 1 ]; then
  strip --strip-unneeded "$root/usr/bin/flowcfd"
  [ -z "$runner" ] || strip --strip-unneeded "$root/usr/lib/flowcfd/flowcfd-runner"
fi
install -m 0644 packaging/debian/flowcfd.service "$root/lib/systemd/system/flowcfd.service"
# The worker unit is the appliance's, hardening and all, with another command.
sed -e 's|^ExecStart=/usr/bin/flowcfd serve$|ExecStart=/usr/bin/flowcfd worker|' \
    -e 's|^Description=.*|Description=FlowCFD job worker (claims queued jobs; needs PostgreSQL)|' \
    -e 's|^After=\(.*\)|After=\1 flowcfd.service|' \
    -e '/^# SIGTERM drains/s/.*/# SIGTERM lets the running jobs be taken over by another worker./' \
    packaging/debian/flowcfd.service >"$root/lib/systemd/system/flowcfd-worker.service"
grep -q '^ExecStart=/usr/bin/flowcfd worker$' "$root/lib/systemd/system/flowcfd-worker.service" \
  || die "could not derive flowcfd-worker.service from flowcfd.service"
install -m 0644 packaging/debian/flowcfd.toml "$root/etc/flowcfd/flowcfd.toml"
install -m 0644 packaging/debian/README.Debian flowcfd.example.toml "$root/usr/share/doc/flowcfd/"
license=$(sed -n '/^\[package\]/,/^\[/s/^license *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)
{
  printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n'
  printf 'Upstream-Name: flowcfd\n\nFiles: *\nCopyright: %s FlowCFD contributors\nLicense: %s\n' "$(date +%Y)" "$license"
  if [ -f "/usr/share/common-licenses/$license" ]; then
    printf ' On Debian systems, the full text of the license is in\n /usr/share/common-licenses/%s.\n' "$license"
  fi
} >"$root/usr/share/doc/flowcfd/copyright"
# A native package's changelog: this version, from the commit it was built from.
{
  printf 'flowcfd (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n' "$version" \
    "$(git rev-parse --short HEAD 2>/dev/null || echo 'a source tree')"
  printf ' -- FlowCFD maintainers <maintainers@flowcfd.org>  %s\n' "$(date -R)"
} | gzip -9n >"$root/usr/share/doc/flowcfd/changelog.gz"
install -d "$root/usr/share/lintian/overrides"
install -m 0644 packaging/debian/lintian-overrides "$root/usr/share/lintian/overrides/flowcfd"
for s in postinst prerm postrm; do
  install -m 0755 "packaging/debian/$s" "$root/DEBIAN/$s"
done
echo /etc/flowcfd/flowcfd.toml >"$root/DEBIAN/conffiles"

# Depends: the packages that ship the binary's shared libraries (libc6, libssl3, zlib1g,
# libgcc-s1), with the versions the binary's symbols need.
install -d "$stage/debian"
printf 'Source: flowcfd\n\nPackage: flowcfd\nArchitecture: any\n' >"$stage/debian/control"
shlibs=$(cd "$stage" && dpkg-shlibdeps -O -e"root/usr/bin/flowcfd" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no libraries for $bin"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: flowcfd
Version: $version
Architecture: $arch
Maintainer: FlowCFD maintainers <maintainers@flowcfd.org>
Installed-Size: $size
Depends: $shlibs, adduser
Recommends: openfoam, openmpi-bin
Section: science
Priority: optional
Homepage: https://github.com/flowcfd/flowcfd
Description: CFD appliance: geometry to drag coefficient with OpenFOAM
 FlowCFD turns a geometry upload into an OpenFOAM case, meshes and solves it
 on this machine or on a Slurm or Kubernetes cluster, and reports forces,
 pictures and a PDF. The package runs it as a systemd service (flowcfd.service)
 under its own user, with settings in /etc/flowcfd/flowcfd.toml and data in
 /var/lib/flowcfd.
EOF

mkdir -p "$out"
deb="$out/flowcfd_${version}_${arch}.deb"
if [ $fast = 1 ]; then comp=(-Zgzip -z1); else comp=(-Zxz); fi
dpkg-deb --root-owner-group --build "${comp[@]}" "$root" "$deb" >/dev/null
echo "$deb"
