{{/* Chart name, overridable. */}}
{{- define "raftq.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Base name of the operator's objects: "<release>-<chart>" unless the release already carries it. */}}
{{- define "raftq.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "raftq.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every object of the release carries. */}}
{{- define "raftq.helmLabels" -}}
helm.sh/chart: {{ include "raftq.chart" . }}
app.kubernetes.io/part-of: raftq
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "raftq.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* ---------- operator ---------- */}}

{{- define "raftq.operator.name" -}}
{{- printf "%s-operator" (include "raftq.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "raftq.operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "raftq.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "raftq.operator.labels" -}}
{{ include "raftq.operator.selectorLabels" . }}
{{ include "raftq.helmLabels" . }}
{{- end -}}

{{- define "raftq.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (include "raftq.operator.name" .) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* ---------- cluster (operator-less mode) ----------
The names and labels below must stay equal to operator/src/render.ts
(clusterNames, selectorLabels): test/k8s/render-parity.test.ts compares them. */}}

{{- define "raftq.cluster.name" -}}
{{- default (include "raftq.fullname" .) .Values.cluster.name | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "raftq.cluster.peerService" -}}
{{- printf "%s-peers" (include "raftq.cluster.name" .) -}}
{{- end -}}

{{- define "raftq.cluster.selectorLabels" -}}
app.kubernetes.io/name: raftq
app.kubernetes.io/instance: {{ include "raftq.cluster.name" . }}
app.kubernetes.io/component: node
{{- end -}}

{{- define "raftq.cluster.labels" -}}
{{ include "raftq.cluster.selectorLabels" . }}
{{ include "raftq.helmLabels" . }}
{{- end -}}

{{/* The bootstrap size: explicit value, else what the live StatefulSet recorded, else replicas.
--peers must never change after the first install, or new members would bootstrap instead of joining. */}}
{{- define "raftq.cluster.bootstrapReplicas" -}}
{{- $n := int .Values.cluster.bootstrapReplicas -}}
{{- if eq $n 0 -}}
{{- $live := lookup "apps/v1" "StatefulSet" .Release.Namespace (include "raftq.cluster.name" .) -}}
{{- $recorded := "" -}}
{{- if $live -}}
{{- $recorded = index ($live.metadata.annotations | default dict) "raftq.io/bootstrap-replicas" | default "" -}}
{{- end -}}
{{- if $recorded -}}
{{- $n = int $recorded -}}
{{- else -}}
{{- $n = int .Values.cluster.replicas -}}
{{- end -}}
{{- end -}}
{{- $n -}}
{{- end -}}

{{/* "monitor", "annotations" or "off" for one kind (ServiceMonitor or PodMonitor): the Prometheus Operator's
object only when its API exists in the cluster (or --api-versions names it), scrape annotations otherwise.
Usage: include "raftq.monitoringMode" (dict "ctx" $ "kind" "ServiceMonitor") */}}
{{- define "raftq.monitoringMode" -}}
{{- $v := .ctx.Values.monitoring -}}
{{- if not $v.enabled -}}
off
{{- else if and $v.serviceMonitor.enabled (.ctx.Capabilities.APIVersions.Has (printf "monitoring.coreos.com/v1/%s" .kind)) -}}
monitor
{{- else -}}
annotations
{{- end -}}
{{- end -}}
