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
{{- include "vizier.validateShutdown" . -}}
{{- include "vizier.validateAuth" . -}}
{{- end -}}

{{/*
Kubernetes kills the container terminationGracePeriodSeconds after the preStop hook starts:
the pause and vizier's whole shutdown grace must fit in it, with 5 s to spare.
*/}}
{{- define "vizier.validateShutdown" -}}
{{- $graceMs := 30000 -}}
{{- $server := .Values.config.server | default dict -}}
{{- if not (kindIs "invalid" $server.shutdown_grace_ms) -}}
{{- $graceMs = int $server.shutdown_grace_ms -}}
{{- end -}}
{{- $pause := 0 -}}
{{- if not (and .Values.lifecycle .Values.lifecycle.preStop) -}}
{{- $pause = int .Values.preStopSleepSeconds -}}
{{- end -}}
{{- $needMs := add $graceMs (mul $pause 1000) 5000 -}}
{{- if lt (mul (int .Values.terminationGracePeriodSeconds) 1000) $needMs -}}
{{- fail (printf "vizier: terminationGracePeriodSeconds (%d) must be at least preStopSleepSeconds (%d) + config.server.shutdown_grace_ms (%d ms) + 5 s, or Kubernetes kills vizier before its shutdown ends: raise it to %d" (int .Values.terminationGracePeriodSeconds) $pause $graceMs (div (add $needMs 999) 1000)) -}}
{{- end -}}
{{- end -}}

{{/*
Validate the authentication values the way vizier checks [auth] / [auth.jwt] at start, so a
release that would crash-loop fails at render time instead, saying what to set.
*/}}
{{- define "vizier.validateAuth" -}}
{{- $auth := .Values.auth -}}
{{- $jwt := $auth.jwt -}}
{{- if $auth.enabled -}}
{{- if $auth.devUser -}}
{{- fail "vizier: auth.devUser must be empty while auth.enabled is true (vizier refuses to start with auth.dev_user set and authentication on: a dev user would bypass it)" -}}
{{- end -}}
{{- if not (trim ($jwt.audience | default "" | toString)) -}}
{{- fail (printf "vizier: auth.enabled is true but auth.jwt.audience is empty: set the `aud` value the tokens for vizier carry (e.g. --set auth.jwt.audience=vizier). Authentication is required: the pods bind %s, which vizier only allows with auth on; see the chart README, section Authentication" (include "vizier.bind" .)) -}}
{{- end -}}
{{- $issuers := $jwt.issuers | default list -}}
{{- if not $issuers -}}
{{- fail "vizier: auth.enabled is true but auth.jwt.issuers is empty: list the accepted token issuers, the exact `iss` values (e.g. --set 'auth.jwt.issuers={https://idp.example.com/}'); see the chart README, section Authentication" -}}
{{- end -}}
{{- range $issuers -}}
{{- if not (trim (toString .)) -}}
{{- fail "vizier: auth.jwt.issuers has an empty entry" -}}
{{- end -}}
{{- end -}}
{{- $algs := $jwt.algorithms | default list -}}
{{- if not $algs -}}
{{- fail "vizier: auth.jwt.algorithms is empty: list the algorithms your identity provider signs with, e.g. [RS256]" -}}
{{- end -}}
{{- $source := include "vizier.jwtKeySource" . -}}
{{- $hmacAlgs := list "HS256" "HS384" "HS512" -}}
{{- range $algs -}}
{{- if and (eq $source "hmac") (not (has . $hmacAlgs)) -}}
{{- fail (printf "vizier: auth.jwt.algorithms lists %s but the key source is the HMAC secret (secretKeys.jwtHmacSecret): list only HS256, HS384 or HS512, e.g. --set 'auth.jwt.algorithms={HS256}'" .) -}}
{{- end -}}
{{- if and (ne $source "hmac") (has . $hmacAlgs) -}}
{{- fail (printf "vizier: auth.jwt.algorithms lists %s, an HMAC algorithm, but the key source is %s (public keys): list RS*/PS*/ES256/ES384 only, or use secret.jwtHmacSecret as the only key source" . (ternary "auth.jwt.jwksUri" "the PEM public key (secretKeys.jwtPublicKey)" (eq $source "jwks"))) -}}
{{- end -}}
{{- end -}}
{{- if and (eq $source "jwks") (hasPrefix "http://" $jwt.jwksUri) (not $jwt.jwksAllowHttp) -}}
{{- if not (regexMatch `^http://(localhost|127\.[0-9.]+|\[::1\])([:/]|$)` $jwt.jwksUri) -}}
{{- fail "vizier: auth.jwt.jwksUri uses plain http: anyone on the path could substitute signing keys. Use https, or set auth.jwt.jwksAllowHttp=true if the path is trusted (e.g. a cluster-internal identity provider)" -}}
{{- end -}}
{{- end -}}
{{- if and (eq $source "hmac") (not .Values.existingSecret) (not (hasPrefix "base64:" .Values.secret.jwtHmacSecret)) -}}
{{- $need := 32 -}}
{{- if has "HS384" $algs }}{{ $need = 48 }}{{ end -}}
{{- if has "HS512" $algs }}{{ $need = 64 }}{{ end -}}
{{- if lt (len .Values.secret.jwtHmacSecret) $need -}}
{{- fail (printf "vizier: secret.jwtHmacSecret is %d bytes; %s needs at least %d (RFC 7518 3.2). Generate one with `openssl rand -base64 64` and set it as base64:<value>" (len .Values.secret.jwtHmacSecret) (join ", " $algs) $need) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Where vizier gets the JWT verification keys from, with auth.enabled: "jwks" (auth.jwt.jwksUri,
rendered into the ConfigMap), "hmac" (hs_secret) or "pem" (public_key_pem), both from the
Secret as environment variables. Exactly one. With existingSecret the chart cannot see the
Secret's keys, so (unless jwksUri is set) the algorithms decide: HS* only -> the key named
secretKeys.jwtHmacSecret, no HS* -> secretKeys.jwtPublicKey.
*/}}
{{- define "vizier.jwtKeySource" -}}
{{- $jwt := .Values.auth.jwt -}}
{{- $sources := list -}}
{{- if $jwt.jwksUri }}{{ $sources = append $sources "jwks" }}{{ end -}}
{{- if not .Values.existingSecret -}}
{{- if .Values.secret.jwtHmacSecret }}{{ $sources = append $sources "hmac" }}{{ end -}}
{{- if .Values.secret.jwtPublicKey }}{{ $sources = append $sources "pem" }}{{ end -}}
{{- end -}}
{{- if gt (len $sources) 1 -}}
{{- fail "vizier: set exactly one JWT key source, not several: auth.jwt.jwksUri, secret.jwtPublicKey or secret.jwtHmacSecret (vizier refuses more than one)" -}}
{{- else if eq (len $sources) 1 -}}
{{- first $sources -}}
{{- else if .Values.existingSecret -}}
{{- $hs := 0 -}}
{{- range $jwt.algorithms }}{{ if hasPrefix "HS" . }}{{ $hs = add1 $hs }}{{ end }}{{ end -}}
{{- if eq $hs 0 -}}
pem
{{- else if eq $hs (len $jwt.algorithms) -}}
hmac
{{- else -}}
{{- fail "vizier: auth.jwt.algorithms mixes HMAC (HS*) and public-key algorithms; vizier needs exactly one key source. With existingSecret and no auth.jwt.jwksUri the algorithms pick the Secret key: HS* only -> secretKeys.jwtHmacSecret, RS*/PS*/ES* only -> secretKeys.jwtPublicKey" -}}
{{- end -}}
{{- else -}}
{{- fail "vizier: auth.enabled is true but no JWT key source is set: set auth.jwt.jwksUri (https URL of your identity provider's JSON Web Key Set), secret.jwtPublicKey (PEM public key, RS*/PS*/ES* tokens) or secret.jwtHmacSecret (HS* tokens), or existingSecret with the key named in secretKeys.jwtPublicKey or secretKeys.jwtHmacSecret; see the chart README, section Authentication" -}}
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
[auth], [auth.jwt] and [auth.role_mapping] in vizier's key names, from .Values.auth. Off:
only `enabled` (and dev_user when set). The key material (hs_secret, public_key_pem) is never
here: it comes from the Secret as VIZIER_AUTH__JWT__* environment variables.
*/}}
{{- define "vizier.authDict" -}}
{{- $a := .Values.auth -}}
{{- $auth := dict "enabled" $a.enabled -}}
{{- if not $a.enabled -}}
{{- with $a.devUser }}{{ $_ := set $auth "dev_user" . }}{{ end -}}
{{- else -}}
{{- $_ := set $auth "auto_provision" $a.autoProvision -}}
{{- $_ := set $auth "default_role" $a.defaultRole -}}
{{- if $a.tenants }}{{ $_ := set $auth "tenants" true }}{{ end -}}
{{- $_ := set $auth "authorization_servers" ($a.authorizationServers | default list) -}}
{{- with $a.publicUrl }}{{ $_ := set $auth "public_url" . }}{{ end -}}
{{- with $a.roleMapping }}{{ $_ := set $auth "role_mapping" . }}{{ end -}}
{{- $j := $a.jwt -}}
{{- $jwt := dict -}}
{{- $_ := set $jwt "algorithms" $j.algorithms -}}
{{- $_ := set $jwt "issuers" $j.issuers -}}
{{- $_ := set $jwt "audience" $j.audience -}}
{{- $_ := set $jwt "leeway_secs" $j.leewaySecs -}}
{{- with $j.jwksUri }}{{ $_ := set $jwt "jwks_uri" . }}{{ end -}}
{{- $_ := set $jwt "jwks_refresh_secs" $j.jwksRefreshSecs -}}
{{- $_ := set $jwt "jwks_min_refetch_secs" $j.jwksMinRefetchSecs -}}
{{- $_ := set $jwt "jwks_timeout_secs" $j.jwksTimeoutSecs -}}
{{- $_ := set $jwt "jwks_allow_http" $j.jwksAllowHttp -}}
{{- $_ := set $jwt "required_scopes" ($j.requiredScopes | default list) -}}
{{- $_ := set $jwt "max_token_bytes" $j.maxTokenBytes -}}
{{- $_ := set $jwt "cache_entries" $j.cacheEntries -}}
{{- $_ := set $auth "jwt" $jwt -}}
{{- end -}}
{{- toJson $auth -}}
{{- end -}}

{{/*
The vizier configuration as a dict, in vizier's own key names (config/default.toml):
.Values.config plus the keys the chart computes (server.bind, server.allowed_hosts) and [auth]
from .Values.auth.
Secrets are never part of it: they reach the pod as VIZIER_* environment variables.
*/}}
{{- define "vizier.configDict" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- $server := deepCopy (default dict $cfg.server) -}}
{{- $_ := set $server "bind" (include "vizier.bind" .) -}}
{{- $_ := set $server "allowed_hosts" (include "vizier.allowedHosts" . | fromJsonArray) -}}
{{- $_ := set $cfg "server" $server -}}
{{- $_ := set $cfg "auth" (include "vizier.authDict" . | fromJson) -}}
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
- name: VIZIER_RATE_LIMITS__REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "vizier.secretName" . }}
      key: {{ .Values.secretKeys.redisUrl }}
{{- end }}
{{- if .Values.auth.enabled }}
{{- $source := include "vizier.jwtKeySource" . }}
{{- if eq $source "hmac" }}
- name: VIZIER_AUTH__JWT__HS_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "vizier.secretName" . }}
      key: {{ .Values.secretKeys.jwtHmacSecret }}
{{- else if eq $source "pem" }}
- name: VIZIER_AUTH__JWT__PUBLIC_KEY_PEM
  valueFrom:
    secretKeyRef:
      name: {{ include "vizier.secretName" . }}
      key: {{ .Values.secretKeys.jwtPublicKey }}
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
