{{/*
The pod template of `flowcfd serve` and `flowcfd worker`: dict root, component, command,
slots, spec (server or worker values). Non-root (the image's flowcfd user, 10001), read-only
root filesystem, every capability dropped, RuntimeDefault seccomp; /data and /tmp are
emptyDirs (results live in S3 and the database, so a pod keeps nothing).
*/}}
{{- define "flowcfd.podTemplate" -}}
{{- $root := .root -}}
{{- $spec := .spec -}}
metadata:
  labels:
    {{- include "flowcfd.labels" $root | nindent 4 }}
    {{- include "flowcfd.selector" (dict "root" $root "component" .component) | nindent 4 }}
  annotations:
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    {{- with $spec.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "flowcfd.serviceAccountName" $root }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- include "flowcfd.podSecurityContext" $root | nindent 4 }}
  containers:
    - name: {{ .component }}
      image: {{ include "flowcfd.image" $root }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args: [{{ .command | quote }}]
      securityContext:
        {{- include "flowcfd.containerSecurityContext" $root | nindent 8 }}
      env:
        {{- include "flowcfd.env" $root | nindent 8 }}
        - name: FLOWCFD_BIND
          value: "0.0.0.0:8080"
        - name: FLOWCFD_JOBS__SLOTS
          value: {{ .slots | quote }}
        {{- with $spec.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if eq .component "server" }}
      ports:
        - name: http
          containerPort: 8080
          protocol: TCP
      startupProbe:
        httpGet:
          path: /health/live
          port: http
        periodSeconds: 2
        failureThreshold: 60
      livenessProbe:
        httpGet:
          path: /health/live
          port: http
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /health/ready
          port: http
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 3
      {{- else }}
      # The worker serves no HTTP: liveness is the process (it exits on a lost database).
      livenessProbe:
        exec:
          command: ["/usr/local/bin/flowcfd", "--version"]
        periodSeconds: 30
        timeoutSeconds: 5
      readinessProbe:
        exec:
          command: ["/usr/local/bin/flowcfd", "--version"]
        periodSeconds: 30
        timeoutSeconds: 5
      {{- end }}
      resources:
        {{- toYaml $spec.resources | nindent 8 }}
      volumeMounts:
        {{- include "flowcfd.volumeMounts" $root | nindent 8 }}
  volumes:
    - name: config
      configMap:
        name: {{ include "flowcfd.fullname" $root }}
    - name: data
      emptyDir:
        sizeLimit: {{ $spec.dataSizeLimit }}
    - name: tmp
      emptyDir:
        sizeLimit: 1Gi
  {{- with $spec.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $spec.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $spec.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
