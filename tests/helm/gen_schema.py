"""Writes charts/flowcfd/values.schema.json (stdout): the chart values' types, words and
required keys, with additionalProperties false everywhere so a typo is refused. Edit this,
then `python3 tests/helm/gen_schema.py > charts/flowcfd/values.schema.json`;
tests/helm/check.sh fails when the two differ."""
import json
S = lambda **k: dict(type="string", **k)
B = {"type": "boolean"}
I = lambda mn=None, **k: dict(type="integer", **({"minimum": mn} if mn is not None else {}), **k)
def O(props, req=None, extra=False, **k):
    o = {"type": "object", "properties": props, "additionalProperties": extra}
    if req: o["required"] = req
    o.update(k); return o
strmap = {"type": "object", "additionalProperties": {"type": "string"}}
qty = {"anyOf": [{"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|Pi|M|G|T|P|E|Ei)?$"}, {"type": "number", "minimum": 0}]}
res = O({"requests": O({"cpu": qty, "memory": qty}), "limits": O({"cpu": qty, "memory": qty})})
size = S(pattern=r"^[0-9]+(Ki|Mi|Gi|Ti|Pi)$")
dur = S(pattern=r"^([0-9]+(h|m|s))+$|^Never$")
envlist = {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {"name": S(minLength=1)}}}
name63 = S(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
pod = lambda extra: O(dict({"replicas": I(0), "slots": I(0), "resources": res, "dataSizeLimit": size,
    "podAnnotations": strmap, "nodeSelector": strmap, "tolerations": {"type": "array", "items": {"type": "object"}},
    "affinity": {"type": "object"}, "extraEnv": envlist}, **extra), req=["replicas", "slots", "resources"])
toleration = O({"key": S(), "operator": S(enum=["Equal", "Exists"]), "value": S(),
                "effect": S(enum=["NoSchedule", "PreferNoSchedule", "NoExecute"])}, req=["operator"])
secretRef = lambda keyname: O({"name": S(), "key": S(minLength=1)}, req=["name", "key"])
provider = O({"name": S(pattern=r"^[A-Za-z0-9_-]+$"), "kind": S(enum=["github", "google", "oidc"]),
              "label": S(), "issuer": S(pattern=r"^https?://"), "clientId": S(minLength=1),
              "clientSecretName": S(), "clientSecretKey": S(minLength=1)},
             req=["name", "kind", "clientId", "clientSecretKey"],
             **{"if": {"properties": {"kind": {"const": "oidc"}}}, "then": {"required": ["issuer"]}})
props = {
  "image": O({"repository": S(minLength=1), "tag": S(), "pullPolicy": S(enum=["Always", "IfNotPresent", "Never"])}, req=["repository", "tag", "pullPolicy"]),
  "imagePullSecrets": {"type": "array", "items": O({"name": S(minLength=1)}, req=["name"])},
  "nameOverride": S(), "fullnameOverride": S(),
  "publicUrl": S(pattern=r"^(https?://[^/\s]+/?)?$"),
  "solverNamespace": S(pattern=r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$"),
  "server": pod({}),
  "worker": pod({"enabled": B}),
  "service": O({"type": S(enum=["ClusterIP", "NodePort", "LoadBalancer"]), "port": I(1, maximum=65535), "annotations": strmap}, req=["type", "port"]),
  "ingress": O({"enabled": B, "className": S(), "host": S(pattern=r"^[a-z0-9*]([-a-z0-9.]*[a-z0-9])?$"), "annotations": strmap,
                "tls": O({"enabled": B, "secretName": S(minLength=1)}, req=["enabled", "secretName"])}, req=["enabled", "host", "tls"]),
  "config": O({
      "log": O({"format": S(enum=["json", "text"]), "filter": S(minLength=1)}, req=["format", "filter"]),
      "trustedProxies": {"type": "array", "items": S(minLength=1)},
      "database": O({"poolSize": I(0), "acquireTimeoutMs": I(1)}, req=["poolSize", "acquireTimeoutMs"]),
      "jobs": O({"leaseS": I(2), "maxWallS": I(60), "maxAttempts": I(1), "maxCoresPerUser": I(1), "maxCoresPerOrg": I(1)},
                req=["leaseS", "maxWallS", "maxAttempts", "maxCoresPerUser", "maxCoresPerOrg"]),
      "limits": O({"maxUploadBytes": I(1)}, req=["maxUploadBytes"]),
      "report": O({"paper": S(enum=["a4", "letter"]), "units": S(enum=["si", "automotive"])}, req=["paper", "units"]),
  }, req=["log", "trustedProxies", "database", "jobs", "limits", "report"]),
  "database": O({"urlSecret": secretRef("database-url")}, req=["urlSecret"]),
  "s3": O({"bucket": S(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"), "region": S(minLength=1), "endpoint": S(pattern=r"^(https?://.+)?$"),
           "pathStyle": B, "allowHttp": B,
           "credentials": O({"enabled": B, "secretName": S(), "accessKeyIdKey": S(minLength=1), "secretAccessKeyKey": S(minLength=1)},
                            req=["enabled", "accessKeyIdKey", "secretAccessKeyKey"])},
          req=["bucket", "region", "pathStyle", "allowHttp", "credentials"]),
  "auth": O({"secret": secretRef("auth-secret"), "accessTtlS": I(1), "refreshTtlS": I(1),
             "providers": {"type": "array", "items": provider}}, req=["secret", "accessTtlS", "refreshTtlS", "providers"]),
  "billing": O({"enabled": B, "provider": S(enum=["none", "stripe"]), "defaultPlan": S(minLength=1), "graceDays": I(0),
                "stripe": O({"apiBase": S(pattern=r"^https?://"), "prices": strmap, "secretName": S(),
                             "secretKeyKey": S(minLength=1), "webhookSecretKey": S(minLength=1)},
                            req=["apiBase", "prices", "secretKeyKey", "webhookSecretKey"])},
               req=["enabled", "provider", "defaultPlan", "graceDays", "stripe"]),
  "secrets": O({"existingSecret": S(), "create": B, "databaseUrl": S(pattern=r"^(postgres(ql)?://.+)?$"), "authSecret": S(),
                "s3AccessKeyId": S(), "s3SecretAccessKey": S(), "stripeSecretKey": S(), "stripeWebhookSecret": S(),
                "oidcClientSecrets": strmap}, req=["existingSecret", "create"],
               anyOf=[{"properties": {"existingSecret": {"minLength": 1}}},
                      {"properties": {"create": {"const": True}, "authSecret": {"minLength": 32}}}]),
  "serviceAccount": O({"create": B, "name": S(), "annotations": strmap}, req=["create"]),
  "rbac": O({"create": B}, req=["create"]),
  "executor": O({"enabled": B, "name": S(pattern=r"^[A-Za-z0-9_-]+$", **{"not": {"const": "local"}}),
                 "image": O({"repository": S(minLength=1), "tag": S(minLength=1)}, req=["repository", "tag"]),
                 "coresPerNode": I(1), "memoryPerCoreGib": I(1), "maxCores": I(1), "nodeSelector": strmap,
                 "tolerations": {"type": "array", "items": toleration},
                 "serviceAccount": O({"create": B, "name": S(), "annotations": strmap}, req=["create"])},
                req=["enabled", "name", "image", "coresPerNode", "memoryPerCoreGib", "maxCores"]),
  "mpi": O({"enabled": B, "mode": S(enum=["object_store", "shared_volume"]),
            "sharedVolume": O({"existingClaim": S(), "storageClass": S(minLength=1), "size": size}, req=["storageClass", "size"])},
           req=["enabled", "mode"]),
  "karpenter": O({"enabled": B, "nodePoolName": name63,
                  "taint": O({"key": S(minLength=1), "value": S(), "effect": S(enum=["NoSchedule", "NoExecute"])}, req=["key", "effect"]),
                  "instanceFamilies": {"type": "array", "minItems": 1, "items": S(pattern=r"^[a-z][a-z0-9-]*$")},
                  "instanceSizes": {"type": "array", "minItems": 1, "items": S(minLength=1)},
                  "capacityTypes": {"type": "array", "minItems": 1, "items": S(enum=["on-demand", "spot", "reserved"])},
                  "architectures": {"type": "array", "minItems": 1, "items": S(enum=["amd64", "arm64"])},
                  "cpuLimit": I(1),
                  "disruption": O({"consolidationPolicy": S(enum=["WhenEmpty", "WhenEmptyOrUnderutilized"]), "consolidateAfter": dur},
                                  req=["consolidationPolicy", "consolidateAfter"]),
                  "expireAfter": dur,
                  "nodeClass": O({"name": name63, "role": S(minLength=1), "amiAlias": S(pattern=r"^[a-z0-9]+@.+$"),
                                  "subnetSelectorTags": dict(strmap, minProperties=1), "securityGroupSelectorTags": dict(strmap, minProperties=1),
                                  "volumeSize": size}, req=["name", "role", "amiAlias", "subnetSelectorTags", "securityGroupSelectorTags", "volumeSize"])},
                 req=["enabled", "nodePoolName", "taint", "instanceFamilies", "capacityTypes", "disruption", "nodeClass"]),
  "migration": O({"enabled": B, "backoffLimit": I(0), "resources": res}, req=["enabled"]),
  "podDisruptionBudget": O({"enabled": B, "minAvailable": {"anyOf": [I(0), S(pattern=r"^[0-9]+%$")]}}, req=["enabled"]),
  "autoscaling": O({"enabled": B, "minReplicas": I(1), "maxReplicas": I(1), "targetCPUUtilizationPercentage": I(1, maximum=100)}, req=["enabled"]),
  "serviceMonitor": O({"enabled": B, "interval": dur, "labels": strmap}, req=["enabled"]),
  "grafanaDashboard": O({"enabled": B, "labels": strmap}, req=["enabled"]),
  "networkPolicy": O({"enabled": B, "ingressNamespaceSelectors": {"type": "array", "items": dict(strmap, minProperties=1)}, "ingressCidrs": {"type": "array", "items": S(pattern=r"^[0-9a-fA-F.:]+/[0-9]{1,3}$")}}, req=["enabled"]),
  "postgresql": O({"enabled": B, "image": S(minLength=1), "password": S(), "storageSize": size, "storageClass": S(), "resources": res}, req=["enabled"],
                  **{"if": {"properties": {"enabled": {"const": True}}},
                     "then": {"properties": {"password": {"pattern": "^[A-Za-z0-9]{16,}$"}}}}),
  "minio": O({"enabled": B, "image": S(minLength=1), "mcImage": S(minLength=1), "rootUser": S(minLength=3), "rootPassword": S(),
              "storageSize": size, "storageClass": S(), "resources": res}, req=["enabled"],
             **{"if": {"properties": {"enabled": {"const": True}}},
                "then": {"properties": {"rootPassword": {"minLength": 16}}}}),
}
schema = {"$schema": "http://json-schema.org/draft-07/schema#", "title": "FlowCFD chart values",
          "type": "object", "additionalProperties": False, "properties": props,
          "required": [k for k in props if k not in ("imagePullSecrets", "nameOverride", "fullnameOverride")],
          "allOf": [
            # The bundled database and MinIO keep their passwords in the chart's own Secret.
            {"if": {"properties": {"postgresql": {"properties": {"enabled": {"const": True}}}}},
             "then": {"properties": {"secrets": {"properties": {"create": {"const": True}}}}}},
            {"if": {"properties": {"minio": {"properties": {"enabled": {"const": True}}}}},
             "then": {"properties": {"secrets": {"properties": {"create": {"const": True}}}}}},
            # Somebody must run the jobs: without the worker Deployment, the API pods do.
            {"if": {"properties": {"worker": {"properties": {"enabled": {"const": False}}}}},
             "then": {"properties": {"server": {"properties": {"slots": {"minimum": 1}}}}}},
            # The Kubernetes executor's pods exchange files through S3 presigned URLs; an HPA
            # replaces server.replicas and needs a sane range.
            {"if": {"properties": {"autoscaling": {"properties": {"enabled": {"const": True}}}}},
             "then": {"properties": {"autoscaling": {"required": ["minReplicas", "maxReplicas", "targetCPUUtilizationPercentage"]}}}},
          ]}
print(json.dumps(schema, indent=2))
