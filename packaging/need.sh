# shellcheck shell=bash
# What this machine lacks, as Debian package names: sourced by packaging/quickstart.sh and
# .ci/test, so both install only what is missing. Every check looks for the thing itself
# (a command, a header, an installed package), never for a particular package: Node.js
# from nodesource, nvm or a tarball, or an OpenFOAM from openfoam.com, counts as present,
# and apt is not asked for a second copy (apt's nodejs/npm beside another Node.js ends in
# "held broken packages").
#
#   flowcfd_need run build ...   prints the missing packages, one per line, no repeats
#     run    OpenFOAM and Open MPI, to run cases
#     build  compiler, pkg-config, OpenSSL headers, Node.js and npm (web UI), curl
#     test   what .ci/test's tests use besides: OpenFOAM tutorials, PostgreSQL, Python,
#            chromium, poppler, dpkg-dev and lintian (the .deb), musl-tools (the static
#            runner), Slurm, munge, sshd, PMIx,
#            Environment Modules

# An OpenFOAM the runner finds (src/runner/openfoam.rs): on PATH, named by
# FLOWCFD_OPENFOAM_ENV, or an openfoam.com install under /usr/lib/openfoam or /opt.
flowcfd_have_openfoam() {
  command -v simpleFoam >/dev/null && return 0
  # A Foundation install (OpenFOAM 11+) has foamRun instead.
  command -v foamRun >/dev/null && return 0
  [ -n "${FLOWCFD_OPENFOAM_ENV:-}" ] && [ -f "$FLOWCFD_OPENFOAM_ENV" ] && return 0
  compgen -G '/usr/lib/openfoam/openfoam*/etc/bashrc' >/dev/null && return 0
  compgen -G '/opt/[Oo]pen[Ff][Oo][Aa][Mm]*/etc/bashrc' >/dev/null
}

flowcfd_need() {
  local kind p
  for kind in "$@"; do
    case "$kind" in
      run)
        flowcfd_have_openfoam || echo openfoam
        command -v mpirun >/dev/null || echo openmpi-bin
        ;;
      build)
        command -v cc >/dev/null || echo build-essential
        command -v pkg-config >/dev/null || echo pkg-config
        [ -f /usr/include/openssl/ssl.h ] || echo libssl-dev
        command -v node >/dev/null || echo nodejs
        command -v npm >/dev/null || echo npm
        command -v curl >/dev/null || echo curl
        ;;
      test)
        [ -d /usr/share/doc/openfoam-examples/examples ] || echo openfoam-examples
        ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || echo postgresql
        command -v python3 >/dev/null || echo python3
        python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || echo python3-venv
        [ -x /usr/bin/chromium ] || echo chromium
        # pdftotext, pdfinfo, pdfimages: the report tests read the PDFs they get.
        command -v pdftotext >/dev/null || echo poppler-utils
        # dpkg-shlibdeps: packaging/build-deb.sh computes Depends with it.
        command -v dpkg-shlibdeps >/dev/null || echo dpkg-dev
        command -v lintian >/dev/null || echo lintian
        # musl-gcc: the static runner's C dependencies (mimalloc).
        command -v musl-gcc >/dev/null || echo musl-tools
        # A real Slurm and sshd for the Slurm-over-SSH executor (libpmix-dev: without it
        # srun --mpi=pmix hangs slurmd).
        # environment-modules: the Slurm tests' preamble runs `module load openfoam/1912`
        # (tests/slurm/up.sh writes that modulefile).
        for p in slurmctld slurmd slurm-client munge openssh-server libpmix-dev environment-modules; do
          dpkg -s "$p" >/dev/null 2>&1 || echo "$p"
        done
        ;;
      *)
        echo "flowcfd_need: unknown kind $kind (run, build, test)" >&2
        return 2
        ;;
    esac
  done | awk '!seen[$0]++'
}
