{{- define "forwardauth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "forwardauth.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "forwardauth.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "forwardauth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "forwardauth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "forwardauth.labels" -}}
helm.sh/chart: {{ include "forwardauth.chart" . }}
{{ include "forwardauth.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: forwardauth
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "forwardauth.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "forwardauth.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "forwardauth.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- /* Replicas actually run: more than one only with a shared store (a login must be able to finish anywhere). */ -}}
{{- define "forwardauth.replicas" -}}
{{- if .Values.redis.enabled }}{{ .Values.replicaCount }}{{ else }}1{{ end }}
{{- end }}

{{- /* The Secret holding CLIENT_SECRET and SESSION_ENCRYPTION_KEY. */ -}}
{{- define "forwardauth.secretName" -}}
{{- default (include "forwardauth.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- /* Whether Redis has a password to pass, and where it is. */ -}}
{{- define "forwardauth.redisPasswordSet" -}}
{{- if and .Values.redis.enabled (or .Values.redis.existingSecret .Values.redis.password) }}true{{ end }}
{{- end }}

{{- define "forwardauth.redisSecretName" -}}
{{- default (include "forwardauth.fullname" .) .Values.redis.existingSecret }}
{{- end }}

{{- define "forwardauth.redisSecretKey" -}}
{{- if .Values.redis.existingSecret }}{{ .Values.redis.existingSecretPasswordKey }}{{ else }}REDIS_PASSWORD{{ end }}
{{- end }}

{{- /* Whether the chart creates a Secret at all. */ -}}
{{- define "forwardauth.createSecret" -}}
{{- if or (not .Values.secrets.existingSecret) (and .Values.redis.enabled .Values.redis.password (not .Values.redis.existingSecret)) }}true{{ end }}
{{- end }}

{{- /* A value of `config` as the text of an environment variable: lists joined with commas, whole numbers without an exponent. */ -}}
{{- define "forwardauth.envText" -}}
{{- if kindIs "slice" . }}
{{- $items := list }}
{{- range . }}{{ $items = append $items (include "forwardauth.envText" .) }}{{ end }}
{{- join "," $items }}
{{- else if and (kindIs "float64" .) (eq (floor .) .) }}
{{- printf "%d" (int64 .) }}
{{- else if kindIs "invalid" . }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{- define "forwardauth.redisTlsDir" -}}/etc/forwardauth/redis-tls{{- end }}
{{- define "forwardauth.providerCADir" -}}/etc/forwardauth/provider-ca{{- end }}
{{- define "forwardauth.configFilePath" -}}/etc/forwardauth/config.yaml{{- end }}

{{- /*
The ConfigMap's data: settings derived from the `redis` and `providerCA` values, then `config` (which wins).
Rendered as YAML of a string map; empty values are left out.
*/ -}}
{{- define "forwardauth.configData" -}}
{{- $env := dict }}
{{- $redis := .Values.redis }}
{{- if $redis.enabled }}
{{- $_ := set $env "REDIS_ENABLED" "true" }}
{{- $_ := set $env "REDIS_ADDRESS" (join "," $redis.addresses) }}
{{- $_ := set $env "REDIS_CACHE_MODE" $redis.cacheMode }}
{{- $_ := set $env "REDIS_KEY_PREFIX" $redis.keyPrefix }}
{{- if ne $redis.mode "cluster" }}
{{- $_ := set $env "REDIS_DB" (include "forwardauth.envText" $redis.db) }}
{{- end }}
{{- if $redis.username }}
{{- $_ := set $env "REDIS_USERNAME" $redis.username }}
{{- end }}
{{- if eq $redis.mode "sentinel" }}
{{- $_ := set $env "REDIS_SENTINEL_MASTER_NAME" $redis.sentinelMasterName }}
{{- end }}
{{- if eq $redis.mode "cluster" }}
{{- $_ := set $env "REDIS_CLUSTER_MODE" "true" }}
{{- end }}
{{- if $redis.tls.enabled }}
{{- $_ := set $env "REDIS_TLS_ENABLED" "true" }}
{{- if $redis.tls.caSecret }}
{{- $_ := set $env "REDIS_TLS_CA_FILE" (printf "%s/ca.crt" (include "forwardauth.redisTlsDir" .)) }}
{{- end }}
{{- if $redis.tls.clientCertSecret }}
{{- $_ := set $env "REDIS_TLS_CERT_FILE" (printf "%s/tls.crt" (include "forwardauth.redisTlsDir" .)) }}
{{- $_ := set $env "REDIS_TLS_KEY_FILE" (printf "%s/tls.key" (include "forwardauth.redisTlsDir" .)) }}
{{- end }}
{{- if $redis.tls.insecureSkipVerify }}
{{- $_ := set $env "REDIS_TLS_INSECURE_SKIP_VERIFY" "true" }}
{{- end }}
{{- end }}
{{- end }}
{{- if .Values.providerCA.secret }}
{{- $_ := set $env "CA_CERT_PATH" (printf "%s/ca.crt" (include "forwardauth.providerCADir" .)) }}
{{- end }}
{{- range $name, $value := .Values.config }}
{{- $_ := set $env $name (include "forwardauth.envText" $value) }}
{{- end }}
{{- $data := dict }}
{{- range $name, $value := $env }}
{{- if ne $value "" }}
{{- $_ := set $data $name $value }}
{{- end }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{- /* Stops the render with one message per mistake in the values. */ -}}
{{- define "forwardauth.validate" -}}
{{- $problems := list }}
{{- $known := splitList " " (include "forwardauth.settingNames" . | replace "\n" " ") }}
{{- $secretNames := splitList " " (include "forwardauth.secretSettingNames" .) }}
{{- range $name, $_ := .Values.config }}
{{- $base := trimSuffix "_FILE" $name }}
{{- if or (has $name $secretNames) (has $base $secretNames) }}
{{- $problems = append $problems (printf "config.%s: secrets go in secrets.clientSecret / secrets.sessionEncryptionKey / redis.password (or an existing Secret; the dynamic client registration token through extraEnv with a secretKeyRef), not in the ConfigMap" $name) }}
{{- else if not (has $name $known) }}
{{- $problems = append $problems (printf "config.%s: ForwardAuth reads no such setting (docs/configuration.md lists every environment variable)" $name) }}
{{- end }}
{{- end }}
{{- $redis := .Values.redis }}
{{- if $redis.enabled }}
{{- if not $redis.addresses }}
{{- $problems = append $problems "redis.addresses: give the Redis node, Sentinels or cluster nodes as host:port" }}
{{- end }}
{{- if not (has $redis.mode (list "standalone" "sentinel" "cluster")) }}
{{- $problems = append $problems (printf "redis.mode: %q is not standalone, sentinel or cluster" $redis.mode) }}
{{- end }}
{{- if and (eq $redis.mode "standalone") (gt (len $redis.addresses) 1) }}
{{- $problems = append $problems "redis.addresses: several addresses need redis.mode sentinel or cluster" }}
{{- end }}
{{- if and (eq $redis.mode "sentinel") (not $redis.sentinelMasterName) }}
{{- $problems = append $problems "redis.sentinelMasterName: required with redis.mode sentinel" }}
{{- end }}
{{- if and (eq $redis.mode "cluster") (ne (int $redis.db) 0) }}
{{- $problems = append $problems "redis.db: Redis Cluster has only database 0" }}
{{- end }}
{{- if and (not $redis.tls.enabled) (or $redis.tls.caSecret $redis.tls.clientCertSecret) }}
{{- $problems = append $problems "redis.tls: caSecret / clientCertSecret need redis.tls.enabled: true" }}
{{- end }}
{{- end }}
{{- if and .Values.autoscaling.enabled (not $redis.enabled) }}
{{- $problems = append $problems "autoscaling.enabled: several replicas need a shared store: set redis.enabled and redis.addresses" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (not .Values.autoscaling.targetCPUUtilizationPercentage) (not .Values.autoscaling.targetMemoryUtilizationPercentage) }}
{{- $problems = append $problems "autoscaling: set targetCPUUtilizationPercentage and/or targetMemoryUtilizationPercentage" }}
{{- end }}
{{- if $problems }}
{{- fail (printf "\n  - %s" (join "\n  - " $problems)) }}
{{- end }}
{{- end }}
