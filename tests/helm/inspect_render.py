"""Checks on a `helm template` render of charts/flowcfd that need the manifests' structure
(tests/helm/check.sh runs it with the test venv's Python, which has PyYAML).

    inspect_render.py split RENDER OUTDIR
        One file per built-in resource under OUTDIR/builtin (for kubernetes-validate) and
        per custom resource under OUTDIR/crd; prints the kinds of each.
    inspect_render.py rbac RENDER RULES_JSON MPI(true|false) SOLVER_NS
        The Role is exactly the rules file's (plus the MPI rules when MPI is on), in the
        solver namespace, bound to the pods' ServiceAccount; nothing cluster-wide.
    inspect_render.py crds RENDER
        The structure of the custom resources no offline schema covers (NodePool,
        EC2NodeClass, ServiceMonitor), and the Karpenter pool wired to the executor's
        node_selector and tolerations in flowcfd.toml.
    inspect_render.py config RENDER OUTDIR
        The server pod's flowcfd.toml and environment, with each secretKeyRef replaced by a
        stand-in and $(VAR) references expanded as the kubelet does: OUTDIR/flowcfd.toml
        and OUTDIR/env (NAME=VALUE lines, NUL-separated) for `flowcfd config show`.
    inspect_render.py documented VALUES_YAML
        Every key in values.yaml has a comment line right above it.
"""
import json
import os
import re
import sys

import yaml

BUILTIN_GROUPS = ("v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "policy/v1",
                  "autoscaling/v2", "rbac.authorization.k8s.io/v1")


def docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def split(render, outdir):
    kinds = {"builtin": [], "crd": []}
    for i, d in enumerate(docs(render)):
        where = "builtin" if d["apiVersion"] in BUILTIN_GROUPS else "crd"
        os.makedirs(os.path.join(outdir, where), exist_ok=True)
        with open(os.path.join(outdir, where, f"{i:02d}-{d['kind']}.yaml"), "w") as f:
            yaml.safe_dump(d, f)
        kinds[where].append(f"{d['apiVersion']}/{d['kind']}")
    print(" ".join(sorted(set(kinds["builtin"]))))
    print(" ".join(sorted(set(kinds["crd"]))))


def rbac(render, rules_path, mpi, solver_ns):
    ds = docs(render)
    wide = [d["kind"] for d in ds if d["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    if wide:
        fail(f"cluster-wide RBAC in the chart: {wide}")
    roles = [d for d in ds if d["kind"] == "Role"]
    bindings = [d for d in ds if d["kind"] == "RoleBinding"]
    if len(roles) != 1 or len(bindings) != 1:
        fail(f"expected one Role and one RoleBinding, got {len(roles)} and {len(bindings)}")
    role, binding = roles[0], bindings[0]
    with open(rules_path) as f:
        spec = json.load(f)
    want = spec["rules"] + (spec["mpiOperatorRules"] if mpi == "true" else [])
    if role["rules"] != want:
        fail(f"the Role's rules differ from {rules_path}:\n{role['rules']}\n!=\n{want}")
    if role["metadata"]["namespace"] != solver_ns or binding["metadata"]["namespace"] != solver_ns:
        fail(f"Role/RoleBinding not in the solver namespace {solver_ns}")
    sa = [d for d in ds if d["kind"] == "Deployment"][0]["spec"]["template"]["spec"]["serviceAccountName"]
    subj = binding["subjects"]
    if [s["name"] for s in subj] != [sa] or binding["roleRef"]["name"] != role["metadata"]["name"]:
        fail(f"the RoleBinding does not bind {sa} to {role['metadata']['name']}: {binding}")
    mpijobs = any("mpijobs" in r["resources"] for r in role["rules"])
    print(f"Role {role['metadata']['namespace']}/{role['metadata']['name']}: {len(want)} rules "
          f"(mpijobs {'granted' if mpijobs else 'not granted'}), bound to ServiceAccount {sa}")


def toml_of(ds):
    cm = [d for d in ds if d["kind"] == "ConfigMap" and "flowcfd.toml" in d.get("data", {})]
    return cm[0]["data"]["flowcfd.toml"]


def crds(render):
    ds = docs(render)
    by = {d["kind"]: d for d in ds}
    pool, cls, sm = by.get("NodePool"), by.get("EC2NodeClass"), by.get("ServiceMonitor")
    if not (pool and cls and sm):
        fail("the all-on render lacks NodePool, EC2NodeClass or ServiceMonitor")
    if pool["apiVersion"] != "karpenter.sh/v1" or cls["apiVersion"] != "karpenter.k8s.aws/v1":
        fail("Karpenter resources are not v1")
    t = pool["spec"]["template"]["spec"]
    ref = t["nodeClassRef"]
    if ref != {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": cls["metadata"]["name"]}:
        fail(f"nodeClassRef does not name the EC2NodeClass: {ref}")
    keys = {r["key"] for r in t["requirements"]}
    for k in ("karpenter.k8s.aws/instance-family", "karpenter.sh/capacity-type", "kubernetes.io/arch"):
        if k not in keys:
            fail(f"NodePool requirement {k} missing")
    for r in t["requirements"]:
        if r["operator"] != "In" or not r["values"]:
            fail(f"bad requirement {r}")
    if pool["spec"]["disruption"]["consolidationPolicy"] not in ("WhenEmpty", "WhenEmptyOrUnderutilized"):
        fail("bad consolidationPolicy")
    for k in ("role", "amiSelectorTerms", "subnetSelectorTerms", "securityGroupSelectorTerms"):
        if not cls["spec"].get(k):
            fail(f"EC2NodeClass spec.{k} missing")
    if sm["spec"]["endpoints"][0]["path"] != "/metrics" or sm["spec"]["endpoints"][0]["port"] != "http":
        fail("the ServiceMonitor does not scrape http /metrics")
    # The executor's pods land on the pool: its label in node_selector, its taint tolerated.
    toml = toml_of(ds)
    name = pool["metadata"]["name"]
    if f'"karpenter.sh/nodepool" = "{name}"' not in toml:
        fail(f"flowcfd.toml's node_selector does not select the NodePool {name}:\n{toml}")
    for taint in t["taints"]:
        tol = (f'{{"effect" = "{taint["effect"]}", "key" = "{taint["key"]}", "operator" = "Equal", '
               f'"value" = "{taint["value"]}"}}')
        if tol not in toml:
            fail(f"flowcfd.toml does not tolerate the NodePool's taint {taint}:\n{toml}")
    print(f"NodePool {name} (taints {[x['key'] for x in t['taints']]}) -> EC2NodeClass "
          f"{cls['metadata']['name']}; executor node_selector and tolerations match; ServiceMonitor /metrics")


def config(render, outdir):
    ds = docs(render)
    os.makedirs(outdir, exist_ok=True)
    toml = toml_of(ds)
    with open(os.path.join(outdir, "flowcfd.toml"), "w") as f:
        f.write(toml)
    dep = [d for d in ds if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-server")][0]
    env = {}
    stand_in = {"database-url": "postgres://flowcfd:pw@db.internal:5432/flowcfd",
                "auth-secret": "a-stand-in-auth-secret-of-at-least-32-bytes"}
    for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]:
        if "valueFrom" in e:
            key = e["valueFrom"]["secretKeyRef"]["key"]
            env[e["name"]] = stand_in.get(key, f"stand-in-{key}")
        else:
            env[e["name"]] = re.sub(r"\$\(([A-Za-z0-9_]+)\)", lambda m: env.get(m.group(1), m.group(0)), e["value"])
    env["FLOWCFD_CONFIG"] = os.path.join(outdir, "flowcfd.toml")
    env["FLOWCFD_DATA_DIR"] = os.path.join(outdir, "data")
    with open(os.path.join(outdir, "env"), "w") as f:
        f.write("\0".join(f"{k}={v}" for k, v in env.items()))


def documented(values):
    lines = open(values).read().split("\n")
    bad = []
    for i, line in enumerate(lines):
        if re.match(r"^\s*[A-Za-z0-9_.\"/-]+:( |$)", line) and not line.lstrip().startswith("#"):
            prev = lines[i - 1].strip() if i else ""
            if not prev.startswith("#"):
                bad.append(f"{values}:{i + 1}: {line.strip()}")
    if bad:
        fail("values without a comment above them:\n" + "\n".join(bad))
    print(f"every key of {values} has a comment")


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    {"split": split, "rbac": rbac, "crds": crds, "config": config, "documented": documented}[cmd](*args)
