{{/* Chart name, overridable. */}}
{{- define "lso.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every object name: the release name, plus the chart name unless the release name holds it. */}}
{{- define "lso.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "lso.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; the component label is added per object. */}}
{{- define "lso.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "lso.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of a component: (dict "ctx" $ "component" "operator"). Immutable once installed. */}}
{{- define "lso.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lso.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "lso.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "lso.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* repository:tag, or repository@digest when a digest is pinned. */}}
{{- define "lso.image" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}
{{- end -}}

{{- define "lso.redisName" -}}
{{- printf "%s-redis" (include "lso.fullname" .) -}}
{{- end -}}

{{- define "lso.metricsServiceName" -}}
{{- printf "%s-metrics" (include "lso.fullname" .) -}}
{{- end -}}

{{/* The Secret and key holding the Redis URL the operator passes on; empty when there is no Redis. */}}
{{- define "lso.redisUrlSecret" -}}
{{- if .Values.redis.enabled -}}
{{- include "lso.redisName" . -}}
{{- else -}}
{{- .Values.redis.external.secretName -}}
{{- end -}}
{{- end -}}
{{- define "lso.redisUrlKey" -}}
{{- if .Values.redis.enabled -}}url{{- else -}}{{ .Values.redis.external.key }}{{- end -}}
{{- end -}}

{{/* The restricted Pod Security Standard, container side. */}}
{{- define "lso.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The restricted Pod Security Standard, pod side, for a uid: (include "lso.podSecurityContext" 10001). */}}
{{- define "lso.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The gateway's two Secrets, both made and kept by the operator (never by Helm): the route table it writes, and
     the routing secret (the HMAC key) it makes once. */}}
{{- define "lso.gatewayRoutesSecret" -}}
{{- printf "%s-gateway-routes" (include "lso.fullname" .) -}}
{{- end -}}
{{- define "lso.gatewayRoutingSecret" -}}
{{- printf "%s-gateway-routing" (include "lso.fullname" .) -}}
{{- end -}}
{{- define "lso.gatewayAdminSecret" -}}
{{- printf "%s-gateway-admin" (include "lso.fullname" .) -}}
{{- end -}}
{{/* The playback token signing keys: the user's Secret (gateway.playbackKeys.secretName), else the one the operator
     makes once. */}}
{{- define "lso.gatewayPlaybackKeysSecret" -}}
{{- .Values.gateway.playbackKeys.secretName | default (printf "%s-playback-keys" (include "lso.fullname" .)) -}}
{{- end -}}

{{/* The gateway pods' selector labels as a label selector string (k=v,...), for the operator's annotation patch. */}}
{{- define "lso.gatewayPodSelector" -}}
{{- $labels := include "lso.selectorLabels" (dict "ctx" . "component" "gateway") | fromYaml -}}
{{- $terms := list -}}
{{- range $k, $v := $labels }}{{ $terms = append $terms (printf "%s=%s" $k $v) }}{{ end -}}
{{- join "," $terms -}}
{{- end -}}

{{/* The session history's database: the chart's PostgreSQL (its objects' name) and the Secret and key holding the
     operator's postgres:// URL, either the chart's or the user's (history.existingSecret). */}}
{{- define "lso.historyPostgresName" -}}
{{- printf "%s-postgres" (include "lso.fullname" .) -}}
{{- end -}}
{{- define "lso.historyUrlSecret" -}}
{{- if .Values.history.postgres.enabled -}}
{{- include "lso.historyPostgresName" . -}}
{{- else -}}
{{- .Values.history.existingSecret.name -}}
{{- end -}}
{{- end -}}
{{- define "lso.historyUrlKey" -}}
{{- if .Values.history.postgres.enabled -}}url{{- else -}}{{ .Values.history.existingSecret.key }}{{- end -}}
{{- end -}}
{{/* The chart's PostgreSQL's database, its owner (the operator's role) and Grafana's read-only role. */}}
{{- define "lso.historyDatabase" -}}livestream{{- end -}}
{{- define "lso.historyGrafanaRole" -}}grafana{{- end -}}

{{/* Fails on history settings that contradict each other, naming the values; renders nothing otherwise. */}}
{{- define "lso.historyCheck" -}}
{{- $h := .Values.history -}}
{{- if $h.enabled -}}
{{- if and $h.postgres.enabled $h.existingSecret.name -}}
{{- fail "history: set history.postgres.enabled (the chart's own PostgreSQL) or history.existingSecret.name (yours), not both" -}}
{{- end -}}
{{- if not (or $h.postgres.enabled $h.existingSecret.name) -}}
{{- fail "history.enabled needs a database: set history.postgres.enabled=true (the chart's own PostgreSQL) or history.existingSecret.name (a Secret holding a postgres:// URL)" -}}
{{- end -}}
{{- if and $h.postgres.enabled (or $h.tls.mode $h.tls.caSecret.name) -}}
{{- fail "history.tls applies to history.existingSecret only: the chart's own PostgreSQL (history.postgres.enabled) serves no TLS" -}}
{{- end -}}
{{- if and $h.grafana.datasource.enabled (not $h.postgres.enabled) -}}
{{- fail "history.grafana.datasource.enabled needs history.postgres.enabled (its read-only role); for your own server, add the data source in Grafana (see the chart README)" -}}
{{- end -}}
{{- end -}}
{{- end -}}
