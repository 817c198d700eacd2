{{/* The name every object of this release starts with. */}}
{{- define "elanus.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "elanus.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: call with (list $ "proxy"). */}}
{{- define "elanus.selector" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "elanus.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "elanus.etcdEndpoint" -}}
{{- if .Values.externalEtcd.enabled -}}
{{- required "externalEtcd.endpoint is required" .Values.externalEtcd.endpoint -}}
{{- else -}}
{{- printf "%s-etcd:2379" (include "elanus.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "elanus.kafkaBootstrap" -}}
{{- if .Values.externalKafka.enabled -}}
{{- required "externalKafka.bootstrap is required" .Values.externalKafka.bootstrap -}}
{{- else -}}
{{- printf "%s-kafka:9092" (include "elanus.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "elanus.s3Endpoint" -}}
{{- if .Values.externalS3.enabled -}}
{{- required "externalS3.endpoint is required" .Values.externalS3.endpoint -}}
{{- else -}}
{{- printf "%s-minio:9000" (include "elanus.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Is a bundled dependency deployed? (list $ "etcd") */}}
{{- define "elanus.bundles" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $external := index (dict "etcd" $root.Values.externalEtcd "kafka" $root.Values.externalKafka "minio" $root.Values.externalS3) $name -}}
{{- if and (eq $root.Values.mode "cluster") (index $root.Values $name).enabled (not $external.enabled) -}}
true
{{- end -}}
{{- end -}}

{{/* Liveness on /livez (a standby coordinator is alive), readiness on /healthz. */}}
{{- define "elanus.probes" -}}
livenessProbe:
  httpGet:
    path: /livez
    port: http
  {{- toYaml .Values.probes.liveness | nindent 2 }}
readinessProbe:
  httpGet:
    path: /healthz
    port: http
  {{- toYaml .Values.probes.readiness | nindent 2 }}
{{- end -}}
