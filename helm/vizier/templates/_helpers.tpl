{{/*
Name helpers
*/}}

{{/* Chart name, truncated to 63 characters (DNS label). */}}
{{- define "vizier.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Fully qualified app name, truncated to 63 characters. When the release name already
contains the chart name it is used as is.
*/}}
{{- define "vizier.fullname" -}}
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

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "vizier.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every resource (no component: resources of the server add it, the migration Job sets its own). */}}
{{- define "vizier.labels" -}}
helm.sh/chart: {{ include "vizier.chart" . }}
{{ include "vizier.matchLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vizier
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Name and instance labels: every object of the release has them. */}}
{{- define "vizier.matchLabels" -}}
app.kubernetes.io/name: {{ include "vizier.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Selector labels of the server pods (Deployment, Service, PDB, anti-affinity). The component
keeps the migration Job's pod out of them. Immutable on a Deployment: never change these.
*/}}
{{- define "vizier.selectorLabels" -}}
{{ include "vizier.matchLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{/* Labels of the server's objects (Deployment, pods, Service, …). */}}
{{- define "vizier.serverLabels" -}}
{{ include "vizier.labels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{/* Common annotations block (metadata.annotations), empty when there are none. */}}
{{- define "vizier.annotations" -}}
{{- with .Values.commonAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Service account name. */}}
{{- define "vizier.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vizier.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Container image reference: repository:tag, or repository@digest when a digest is set. */}}
{{- define "vizier.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}
{{- end -}}

{{/* Name of the Secret holding the database URL, encryption key and the optional keys. */}}
{{- define "vizier.secretName" -}}
{{- default (include "vizier.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/* Name of the hook-scoped Secret the migration Job reads on pre-install (chart-managed secrets only). */}}
{{- define "vizier.migrationSecretName" -}}
{{- printf "%s-migration" (include "vizier.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Path of the rendered vizier config file inside the containers. */}}
{{- define "vizier.configPath" -}}
/etc/vizier/vizier.toml
{{- end -}}

{{/*
Validate values that the JSON schema cannot express. Called from the Deployment, so any
rendering fails with a message that says what to set.
*/}}
{{- define "vizier.validateValues" -}}
{{- if not .Values.existingSecret -}}
{{- if not .Values.secret.databaseUrl -}}
{{- fail "vizier: set secret.databaseUrl (postgres://user:password@host:5432/db) or existingSecret (a Secret with the keys named in secretKeys)" -}}
{{- end -}}
{{- if not (hasPrefix "postgres" .Values.secret.databaseUrl) -}}
{{- fail "vizier: secret.databaseUrl must be a PostgreSQL URL (postgres://…); the embedded SQLite store cannot be shared between replicas" -}}
{{- end -}}
{{- if not .Values.secret.encryptionKey -}}
{{- fail "vizier: set secret.encryptionKey (base64 of 32 random bytes, e.g. `openssl rand -base64 32`) or existingSecret" -}}
{{- end -}}
{{- if ne (len (b64dec .Values.secret.encryptionKey)) 32 -}}
{{- fail "vizier: secret.encryptionKey must be the base64 encoding of exactly 32 bytes (`openssl rand -base64 32`)" -}}
{{- end -}}
{{- if and .Values.redis.enabled (not .Values.secret.redisUrl) -}}
{{- fail "vizier: redis.enabled needs secret.redisUrl (redis://…) or existingSecret with that key" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.podDisruptionBudget.enabled .Values.podDisruptionBudget.minAvailable .Values.podDisruptionBudget.maxUnavailable -}}
{{- fail "vizier: set only one of podDisruptionBudget.minAvailable and podDisruptionBudget.maxUnavailable" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail "vizier: autoscaling.minReplicas must not exceed autoscaling.maxReplicas" -}}
{{- end -}}
{{- end -}}

{{/*
Host names accepted on /mcp (server.allowed_hosts): the extra names from
config.server.allowed_hosts, the Service's DNS names and every ingress host. Returned as a
JSON array (use with fromJsonArray).
*/}}
{{- define "vizier.allowedHosts" -}}
{{- $svc := include "vizier.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $hosts := list -}}
{{- range .Values.config.server.allowed_hosts -}}
{{- $hosts = append $hosts . -}}
{{- end -}}
{{- $hosts = append $hosts $svc -}}
{{- $hosts = append $hosts (printf "%s.%s" $svc $ns) -}}
{{- $hosts = append $hosts (printf "%s.%s.svc" $svc $ns) -}}
{{- $hosts = append $hosts (printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain) -}}
{{- if .Values.ingress.enabled -}}
{{- range .Values.ingress.hosts -}}
{{- if .host -}}
{{- $hosts = append $hosts .host -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $hosts | uniq | toJson -}}
{{- end -}}

{{/* server.bind: the pod listens on every interface (IPv6 addresses get brackets). */}}
{{- define "vizier.bind" -}}
{{- $addr := .Values.bindAddress | toString -}}
{{- if contains ":" $addr -}}
{{- printf "[%s]:%d" $addr (int .Values.containerPorts.http) -}}
{{- else -}}
{{- printf "%s:%d" $addr (int .Values.containerPorts.http) -}}
{{- end -}}
{{- end -}}

{{/*
The vizier configuration as a dict, in vizier's own key names (config/default.toml):
.Values.config plus the keys the chart computes (server.bind, server.allowed_hosts, [auth]).
Secrets are never part of it: they reach the pod as VIZIER_* environment variables.
*/}}
{{- define "vizier.configDict" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- $server := deepCopy (default dict $cfg.server) -}}
{{- $_ := set $server "bind" (include "vizier.bind" .) -}}
{{- $_ := set $server "allowed_hosts" (include "vizier.allowedHosts" . | fromJsonArray) -}}
{{- $_ := set $cfg "server" $server -}}
{{- $auth := dict "enabled" .Values.auth.enabled "dev_user" .Values.auth.devUser -}}
{{- if .Values.auth.enabled -}}
{{- with .Values.auth.jwt.issuer }}{{ $_ := set $auth "jwt_issuer" . }}{{ end -}}
{{- with .Values.auth.jwt.audience }}{{ $_ := set $auth "jwt_audience" . }}{{ end -}}
{{- with .Values.auth.jwt.algorithms }}{{ $_ := set $auth "jwt_algorithms" . }}{{ end -}}
{{- with .Values.auth.jwt.jwksUrl }}{{ $_ := set $auth "jwks_url" . }}{{ end -}}
{{- end -}}
{{- $_ := set $cfg "auth" $auth -}}
{{- toJson $cfg -}}
{{- end -}}

{{/*
TOML rendering. Helm's toToml writes every number as a float (values are JSON numbers), and
vizier's integer keys refuse floats, so the chart renders TOML itself: integral numbers as
integers, strings JSON-quoted (a JSON string is a valid TOML basic string), null keys left
out (vizier's built-in default applies).
*/}}
{{- define "vizier.toml.key" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . -}}{{ . }}{{- else -}}{{ toJson . }}{{- end -}}
{{- end -}}

{{- define "vizier.toml.value" -}}
{{- $k := kindOf . -}}
{{- if eq $k "string" -}}
{{- toJson . -}}
{{- else if eq $k "bool" -}}
{{- ternary "true" "false" . -}}
{{- else if or (eq $k "float64") (eq $k "float32") -}}
{{- if eq (float64 (int64 .)) (float64 .) -}}{{ int64 . }}{{- else -}}{{ . }}{{- end -}}
{{- else if has $k (list "int" "int8" "int16" "int32" "int64" "uint" "uint8" "uint16" "uint32" "uint64") -}}
{{- . -}}
{{- else if eq $k "slice" -}}
[{{ range $i, $e := . }}{{ if $i }}, {{ end }}{{ include "vizier.toml.value" $e }}{{ end }}]
{{- else if eq $k "map" -}}
{{- $m := . -}}
{ {{- range $i, $key := keys $m | sortAlpha }}{{ if $i }},{{ end }} {{ include "vizier.toml.key" $key }} = {{ include "vizier.toml.value" (get $m $key) }}{{ end }} }
{{- else -}}
{{- fail (printf "vizier: cannot render a %s value into the TOML config" $k) -}}
{{- end -}}
{{- end -}}

{{/* A TOML table: its scalar keys, then each sub-table as [prefix.key]. */}}
{{- define "vizier.toml.table" -}}
{{- $prefix := .prefix -}}
{{- $t := .table -}}
{{- if $prefix }}
[{{ $prefix }}]
{{- end }}
{{- range $key := keys $t | sortAlpha }}
{{- $v := get $t $key }}
{{- if not (has (kindOf $v) (list "map" "invalid")) }}
{{ include "vizier.toml.key" $key }} = {{ include "vizier.toml.value" $v }}
{{- end }}
{{- end }}
{{- range $key := keys $t | sortAlpha }}
{{- $v := get $t $key }}
{{- if eq (kindOf $v) "map" }}
{{- $name := include "vizier.toml.key" $key }}
{{ include "vizier.toml.table" (dict "prefix" (ternary $name (printf "%s.%s" $prefix $name) (eq $prefix "")) "table" $v) }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The complete vizier.toml. */}}
{{- define "vizier.configToml" -}}
# vizier configuration rendered by the Helm chart {{ include "vizier.chart" . }} from .Values.config.
# Keys and defaults: config/default.toml in the vizier repository. Secrets are not in this
# file: they come from the Secret as VIZIER_* environment variables.
{{- include "vizier.toml.table" (dict "prefix" "" "table" (include "vizier.configDict" . | fromJson)) }}
{{ end -}}

{{/* Environment variables that carry secrets, for the vizier container. */}}
{{- define "vizier.secretEnv" -}}
- name: VIZIER_METADATA__URL
  valueFrom:
    secretKeyRef:
      name: {{ include "vizier.secretName" . }}
      key: {{ .Values.secretKeys.databaseUrl }}
- name: VIZIER_SECRETS__ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "vizier.secretName" . }}
      key: {{ .Values.secretKeys.encryptionKey }}
{{- if .Values.redis.enabled }}
- name: VIZIER_REDIS__URL
  valueFrom:
    secretKeyRef:
      name: {{ include "vizier.secretName" . }}
      key: {{ .Values.secretKeys.redisUrl }}
{{- end }}
{{- if .Values.auth.enabled }}
{{- if or .Values.existingSecret .Values.secret.jwtHmacSecret }}
- name: VIZIER_AUTH__JWT_HMAC_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "vizier.secretName" . }}
      key: {{ .Values.secretKeys.jwtHmacSecret }}
      optional: true
{{- end }}
{{- if or .Values.existingSecret .Values.secret.jwtPublicKey }}
- name: VIZIER_AUTH__JWT_PUBLIC_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "vizier.secretName" . }}
      key: {{ .Values.secretKeys.jwtPublicKey }}
      optional: true
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod anti-affinity preset (used when .Values.affinity is empty). */}}
{{- define "vizier.affinity" -}}
{{- if .Values.affinity -}}
{{- toYaml .Values.affinity -}}
{{- else if eq .Values.podAntiAffinityPreset "soft" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "vizier.selectorLabels" . | nindent 12 }}
{{- else if eq .Values.podAntiAffinityPreset "hard" -}}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "vizier.selectorLabels" . | nindent 10 }}
{{- end -}}
{{- end -}}

{{/* Prometheus label selector for the alert expressions. */}}
{{- define "vizier.promSelector" -}}
{{- if .Values.metrics.prometheusRule.selector -}}
{{- .Values.metrics.prometheusRule.selector -}}
{{- else -}}
job="{{ include "vizier.fullname" . }}",namespace="{{ .Release.Namespace }}"
{{- end -}}
{{- end -}}
