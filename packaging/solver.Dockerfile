# The solver image the Kubernetes executor runs: ESI OpenFOAM v2312, Open MPI, curl, and
# FlowCFD's own binary, which runs the case (`flowcfd run case.json --stream-log`) exactly as
# a local run does. Build from the repository root after `cargo build --release`:
#   docker build -f packaging/solver.Dockerfile -t registry.example.com/flowcfd/solver:v2312 .
# (Not built in CI: no Docker engine on the CI machines.)
FROM opencfd/openfoam-default:2312
USER root
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates openssh-server \
    && rm -rf /var/lib/apt/lists/* && mkdir -p /run/sshd
COPY target/release/flowcfd /usr/local/bin/flowcfd
ENV WM_PROJECT_DIR=/usr/lib/openfoam/openfoam2312
WORKDIR /work
