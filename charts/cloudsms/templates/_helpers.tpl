{{/* Chart name. */}}
{{- define "cloudsms.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; component names are appended to it. */}}
{{- define "cloudsms.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cloudsms.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object: the chart's own, then commonLabels. */}}
{{- define "cloudsms.labels" -}}
helm.sh/chart: {{ include "cloudsms.chart" . }}
app.kubernetes.io/name: {{ include "cloudsms.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cloudsms
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "cloudsms.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cloudsms.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels the chart sets itself: commonLabels and podLabels may not replace them. */}}
{{- define "cloudsms.reservedLabels" -}}
- helm.sh/chart
- app.kubernetes.io/name
- app.kubernetes.io/instance
- app.kubernetes.io/version
- app.kubernetes.io/managed-by
- app.kubernetes.io/part-of
- app.kubernetes.io/component
{{- end }}

{{/*
Labels of a pod: the object labels, its component, then podLabels (the
component's own first, then the top-level ones).
(dict "root" $ "component" <name> "podLabels" <the component's podLabels or nil>)
*/}}
{{- define "cloudsms.podLabels" -}}
{{- $labels := include "cloudsms.labels" .root | fromYaml }}
{{- $own := dict "app.kubernetes.io/component" .component }}
{{- toYaml (mustMerge $own (.podLabels | default dict) (.root.Values.podLabels | default dict) $labels) }}
{{- end }}

{{/*
Annotations of a pod: `fixed` (the chart's checksums), the component's
podAnnotations, then the top-level ones.
(dict "root" $ "fixed" <dict> "podAnnotations" <the component's or nil>)
*/}}
{{- define "cloudsms.podAnnotations" -}}
{{- $annotations := mustMerge (deepCopy .fixed) (.podAnnotations | default dict) (.root.Values.podAnnotations | default dict) }}
{{- with $annotations }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/*
The four services: values key, ports, and whether they are reachable from
outside the namespace. Iterated by every per-service template.
*/}}
{{- define "cloudsms.components" -}}
gateway:
  key: gateway
  httpPort: 8080
  grpcPort: 0
  public: true
  autoscaling: true
message-ingest:
  key: messageIngest
  httpPort: 8081
  grpcPort: 50051
  public: true
  autoscaling: true
captcha-verification:
  key: captchaVerification
  httpPort: 8082
  grpcPort: 50052
  public: false
  autoscaling: false
log-retention:
  key: logRetention
  httpPort: 8083
  grpcPort: 50053
  public: false
  autoscaling: false
{{- end }}

{{/* The cloudsms image: by digest when image.digest is set, else by tag. */}}
{{- define "cloudsms.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Name of the Secret with the database URL, provider secrets, tokens and keys. */}}
{{- define "cloudsms.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- include "cloudsms.fullname" . }}
{{- end }}
{{- end }}

{{/*
Secret keys (named like the environment variables they become) each
service reads. The database URL is required, the rest optional.
*/}}
{{- define "cloudsms.secretKeys" -}}
{{- $backends := list "CLOUDSMS_NATS__PASSWORD" "CLOUDSMS_NATS__NKEY_SEED" "CLOUDSMS_REDIS__PASSWORD" "CLOUDSMS_REDIS__SENTINEL_PASSWORD" }}
gateway:
  {{- range $backends }}
  - {{ . }}
  {{- end }}
  - CLOUDSMS_GATEWAY__GATE__PASS_KEY
  - CLOUDSMS_GATEWAY__ADMIN_TOKEN
message-ingest:
  {{- range $backends }}
  - {{ . }}
  {{- end }}
  - CLOUDSMS_INGEST__GRPC_TOKEN
  - CLOUDSMS_INGEST__PROVIDERS__GENERIC__SECRET
  - CLOUDSMS_INGEST__PROVIDERS__TWILIO__AUTH_TOKEN
  - CLOUDSMS_INGEST__PROVIDERS__VONAGE__SIGNATURE_SECRET
  - CLOUDSMS_INGEST__PROVIDERS__TELNYX__PUBLIC_KEY
  - CLOUDSMS_INGEST__PROVIDERS__PLIVO__AUTH_TOKEN
  - CLOUDSMS_INGEST__PROVIDERS__SMS_GATEWAY__SIGNING_KEY
  - CLOUDSMS_INGEST__PROVIDERS__HTTPSMS__SIGNING_KEY
  - CLOUDSMS_INGEST__PROVIDERS__SMSFORWARDER__SECRET
  - CLOUDSMS_INGEST__PROVIDERS__JASMIN__SHARED_SECRET
  - CLOUDSMS_INGEST__PROVIDERS__JASMIN__USERNAME
  - CLOUDSMS_INGEST__PROVIDERS__JASMIN__PASSWORD
captcha-verification:
  {{- range $backends }}
  - {{ . }}
  {{- end }}
  - CLOUDSMS_CAPTCHA__HMAC_KEY
  - CLOUDSMS_CAPTCHA__SITES
log-retention:
  {{- range $backends }}
  - {{ . }}
  {{- end }}
{{- end }}

{{/* Every key of the Secret(s): the database URL and the keys above. */}}
{{- define "cloudsms.allSecretKeys" -}}
- CLOUDSMS_DATABASE__URL
{{- range $_, $keys := (include "cloudsms.secretKeys" . | fromYaml) }}
{{- range $keys }}
- {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/*
One secret environment variable of a container.
(dict "root" $ "key" <variable> "optional" <bool>)
A variable mapped in secrets.existingSecretKeys reads that Secret's key (and
is required: a typo shows at once); the others the key of the same name in
existingSecret or the chart's Secret.
*/}}
{{- define "cloudsms.secretEnv" -}}
{{- $secrets := .root.Values.secrets }}
{{- $mapped := index ($secrets.existingSecretKeys | default dict) .key -}}
- name: {{ .key }}
  valueFrom:
    secretKeyRef:
      {{- if $mapped }}
      name: {{ $mapped.name | default $secrets.existingSecret }}
      key: {{ $mapped.key }}
      {{- else }}
      name: {{ include "cloudsms.secretName" .root }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
      {{- end }}
{{- end }}

{{/*
The shared ConfigMap: variable -> {value, from: the value that sets it, or
"" when the chart fixes it}. extraEnv may not set any of these.
*/}}
{{- define "cloudsms.config" -}}
{{- $v := .Values }}
{{- $full := include "cloudsms.fullname" . }}
CLOUDSMS_ENVIRONMENT: {value: {{ $v.environment | quote }}, from: environment}
CLOUDSMS_DATA_DIR: {value: "/tmp/cloudsms", from: ""}
CLOUDSMS_NATS__URL: {value: {{ $v.nats.url | quote }}, from: nats.url}
CLOUDSMS_NATS__USER: {value: {{ $v.nats.user | quote }}, from: nats.user}
CLOUDSMS_NATS__CREDS_FILE: {value: {{ $v.nats.credsFile | quote }}, from: nats.credsFile}
CLOUDSMS_NATS__CA_FILE: {value: {{ $v.nats.caFile | quote }}, from: nats.caFile}
CLOUDSMS_NATS__CERT_FILE: {value: {{ $v.nats.certFile | quote }}, from: nats.certFile}
CLOUDSMS_NATS__KEY_FILE: {value: {{ $v.nats.keyFile | quote }}, from: nats.keyFile}
CLOUDSMS_REDIS__URL: {value: {{ $v.redis.url | quote }}, from: redis.url}
{{- /* Only with Sentinels, so that an install without them sets nothing new */ -}}
{{- if $v.redis.sentinels }}
CLOUDSMS_REDIS__SENTINELS: {value: {{ join "," $v.redis.sentinels | quote }}, from: redis.sentinels}
CLOUDSMS_REDIS__MASTER_NAME: {value: {{ $v.redis.masterName | quote }}, from: redis.masterName}
{{- end }}
CLOUDSMS_REDIS__USERNAME: {value: {{ $v.redis.username | quote }}, from: redis.username}
CLOUDSMS_REDIS__CA_FILE: {value: {{ $v.redis.caFile | quote }}, from: redis.caFile}
CLOUDSMS_REDIS__CERT_FILE: {value: {{ $v.redis.certFile | quote }}, from: redis.certFile}
CLOUDSMS_REDIS__KEY_FILE: {value: {{ $v.redis.keyFile | quote }}, from: redis.keyFile}
CLOUDSMS_TELEMETRY__OTLP_CA_FILE: {value: {{ $v.telemetry.otlpCaFile | quote }}, from: telemetry.otlpCaFile}
CLOUDSMS_TELEMETRY__PROMETHEUS_LISTEN: {value: {{ ternary (printf "0.0.0.0:%v" $v.metrics.port) "" $v.metrics.enabled | quote }}, from: metrics.enabled}
CLOUDSMS_DATABASE__MAX_CONNECTIONS: {value: {{ $v.database.maxConnections | quote }}, from: database.maxConnections}
CLOUDSMS_BUS__REPLICAS: {value: {{ $v.bus.replicas | quote }}, from: bus.replicas}
CLOUDSMS_BUS__PREFIX: {value: {{ $v.bus.prefix | quote }}, from: bus.prefix}
CLOUDSMS_HTTP__MAX_CONNECTIONS_PER_ADDRESS: {value: {{ $v.http.maxConnectionsPerAddress | quote }}, from: http.maxConnectionsPerAddress}
CLOUDSMS_HTTP__HEADER_READ_TIMEOUT_SECS: {value: {{ $v.http.headerReadTimeoutSeconds | quote }}, from: http.headerReadTimeoutSeconds}
CLOUDSMS_TELEMETRY__OTLP_ENDPOINT: {value: {{ $v.telemetry.otlpEndpoint | quote }}, from: telemetry.otlpEndpoint}
CLOUDSMS_TELEMETRY__LOG_FORMAT: {value: {{ $v.telemetry.logFormat | quote }}, from: telemetry.logFormat}
CLOUDSMS_TELEMETRY__LOG_FILTER: {value: {{ $v.telemetry.logFilter | quote }}, from: telemetry.logFilter}
CLOUDSMS_GATEWAY__LISTEN: {value: "0.0.0.0:8080", from: ""}
CLOUDSMS_GATEWAY__PUBLIC_URL: {value: {{ $v.gateway.publicUrl | quote }}, from: gateway.publicUrl}
CLOUDSMS_GATEWAY__TRUSTED_PROXIES: {value: {{ $v.gateway.trustedProxies | toJson | quote }}, from: gateway.trustedProxies}
CLOUDSMS_GATEWAY__LIVE__MAX_STREAMS: {value: {{ $v.gateway.live.maxStreams | quote }}, from: gateway.live.maxStreams}
CLOUDSMS_GATEWAY__HSTS: {value: {{ $v.gateway.hsts | quote }}, from: gateway.hsts}
{{- /* Only when given: a list in a file named by CLOUDSMS_CONFIG stays in charge otherwise */ -}}
{{- if $v.gateway.adminTokens }}
{{- $operators := list }}
{{- range $v.gateway.adminTokens }}
{{- $operators = append $operators (printf "{name=%q,token_sha256=%q}" .name .tokenSha256) }}
{{- end }}
CLOUDSMS_GATEWAY__ADMIN_TOKENS: {value: {{ printf "[%s]" (join "," $operators) | quote }}, from: gateway.adminTokens}
{{- end }}
CLOUDSMS_GATEWAY__RETENTION_URL: {value: {{ printf "http://%s-log-retention:50053" $full | quote }}, from: ""}
CLOUDSMS_GATEWAY__GATE__CAPTCHA_URL: {value: {{ printf "http://%s-captcha-verification:50052" $full | quote }}, from: ""}
CLOUDSMS_GATEWAY__GATE__ENABLED: {value: {{ $v.gateway.gate.enabled | quote }}, from: gateway.gate.enabled}
CLOUDSMS_INGEST__LISTEN: {value: "0.0.0.0:8081", from: ""}
CLOUDSMS_INGEST__GRPC_LISTEN: {value: "0.0.0.0:50051", from: ""}
CLOUDSMS_INGEST__PUBLIC_URL: {value: {{ $v.messageIngest.publicUrl | quote }}, from: messageIngest.publicUrl}
CLOUDSMS_INGEST__AUTO_REGISTER_NUMBERS: {value: {{ $v.messageIngest.autoRegisterNumbers | quote }}, from: messageIngest.autoRegisterNumbers}
CLOUDSMS_INGEST__PROVIDERS__VONAGE__SIGNATURE_METHOD: {value: {{ $v.messageIngest.vonageSignatureMethod | quote }}, from: messageIngest.vonageSignatureMethod}
CLOUDSMS_CAPTCHA__LISTEN: {value: "0.0.0.0:8082", from: ""}
CLOUDSMS_CAPTCHA__GRPC_LISTEN: {value: "0.0.0.0:50052", from: ""}
CLOUDSMS_RETENTION__LISTEN: {value: "0.0.0.0:8083", from: ""}
CLOUDSMS_RETENTION__GRPC_LISTEN: {value: "0.0.0.0:50053", from: ""}
CLOUDSMS_RETENTION__RETENTION_DAYS: {value: {{ $v.logRetention.retentionDays | quote }}, from: logRetention.retentionDays}
CLOUDSMS_MESSAGES__KEEP_DAYS: {value: {{ $v.messages.keepDays | quote }}, from: messages.keepDays}
{{- range $section := list "GATEWAY" "INGEST" "CAPTCHA" "RETENTION" }}
CLOUDSMS_{{ $section }}__SHUTDOWN_DELAY_SECS: {value: {{ $v.shutdown.delaySeconds | quote }}, from: shutdown.delaySeconds}
CLOUDSMS_{{ $section }}__SHUTDOWN_GRACE_SECS: {value: {{ $v.shutdown.graceSeconds | quote }}, from: shutdown.graceSeconds}
{{- end }}
{{- end }}

{{/*
Checks of values the schema cannot express; included once, by configmap.yaml.
*/}}
{{- define "cloudsms.validate" -}}
{{- if and .Values.ingress.gateway.enabled (empty .Values.gateway.trustedProxies) }}
{{- fail "ingress.gateway is enabled but gateway.trustedProxies is empty: every visitor would count as the ingress (one network for the crawler gate, the live-update limits and the crash budget) and X-Forwarded-Proto would be ignored. Set gateway.trustedProxies to the ingress controller's pod addresses, e.g. [\"10.0.0.0/8\"]." }}
{{- end }}
{{- /* extraEnv may add settings, never replace the chart's */ -}}
{{- $config := include "cloudsms.config" . | fromYaml }}
{{- /* set only when their value is: still the chart's to set */ -}}
{{- $_ := set $config "CLOUDSMS_REDIS__SENTINELS" (dict "from" "redis.sentinels") }}
{{- $_ := set $config "CLOUDSMS_REDIS__MASTER_NAME" (dict "from" "redis.masterName") }}
{{- $secretKeys := include "cloudsms.allSecretKeys" . | fromYamlArray }}
{{- range $name, $_ := .Values.extraEnv }}
{{- $key := upper $name }}
{{- if hasKey $config $key }}
{{- $from := (index $config $key).from }}
{{- if $from }}
{{- fail (printf "extraEnv.%s: the chart sets %s from the value %s; set %s instead of extraEnv" $name $key $from $from) }}
{{- else }}
{{- fail (printf "extraEnv.%s: the chart sets %s itself (listen addresses, data directory and in-cluster URLs are fixed by the chart)" $name $key) }}
{{- end }}
{{- else if has $key $secretKeys }}
{{- fail (printf "extraEnv.%s: %s is a secret and comes from a Secret: set it in the chart's secrets.* values, in the Secret named by secrets.existingSecret, or map it with secrets.existingSecretKeys" $name $key) }}
{{- else if eq $key "CLOUDSMS_TELEMETRY__INSTANCE_ID" }}
{{- fail (printf "extraEnv.%s: the chart sets %s to each pod's name (Downward API), so replicas stay apart in telemetry" $name $key) }}
{{- end }}
{{- end }}
{{- /* commonLabels and podLabels may not replace the chart's labels */ -}}
{{- $reserved := include "cloudsms.reservedLabels" . | fromYamlArray }}
{{- $labelSets := dict "commonLabels" .Values.commonLabels "podLabels" .Values.podLabels }}
{{- range $name, $c := (include "cloudsms.components" . | fromYaml) }}
{{- $_ := set $labelSets (printf "%s.podLabels" $c.key) (index $.Values $c.key).podLabels }}
{{- end }}
{{- range $value, $labels := $labelSets }}
{{- range $label, $_ := $labels }}
{{- if has $label $reserved }}
{{- fail (printf "%s.%s: the chart sets the label %s itself (selectors and recommended labels); use another key" $value $label $label) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* a mapped secret key needs a Secret name */ -}}
{{- range $key, $ref := .Values.secrets.existingSecretKeys }}
{{- if not (or $ref.name $.Values.secrets.existingSecret) }}
{{- fail (printf "secrets.existingSecretKeys.%s has no `name` and secrets.existingSecret is empty: name the Secret that holds key %q" $key $ref.key) }}
{{- end }}
{{- end }}
{{- end }}
