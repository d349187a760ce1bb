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

{{- define "cloudsms.labels" -}}
helm.sh/chart: {{ include "cloudsms.chart" . }}
app.kubernetes.io/name: {{ include "cloudsms.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cloudsms
{{- end }}

{{- define "cloudsms.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cloudsms.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
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

{{- define "cloudsms.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
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
gateway:
  - CLOUDSMS_GATEWAY__GATE__PASS_KEY
  - CLOUDSMS_GATEWAY__ADMIN_TOKEN
message-ingest:
  - CLOUDSMS_INGEST__GRPC_TOKEN
  - CLOUDSMS_INGEST__PROVIDERS__GENERIC__SECRET
  - CLOUDSMS_INGEST__PROVIDERS__TWILIO__AUTH_TOKEN
  - CLOUDSMS_INGEST__PROVIDERS__VONAGE__SIGNATURE_SECRET
  - CLOUDSMS_INGEST__PROVIDERS__TELNYX__PUBLIC_KEY
  - CLOUDSMS_INGEST__PROVIDERS__PLIVO__AUTH_TOKEN
  - CLOUDSMS_INGEST__PROVIDERS__SMS_GATEWAY__SIGNING_KEY
  - CLOUDSMS_INGEST__PROVIDERS__HTTPSMS__SIGNING_KEY
  - CLOUDSMS_INGEST__PROVIDERS__JASMIN__SHARED_SECRET
  - CLOUDSMS_INGEST__PROVIDERS__JASMIN__USERNAME
  - CLOUDSMS_INGEST__PROVIDERS__JASMIN__PASSWORD
captcha-verification:
  - CLOUDSMS_CAPTCHA__HMAC_KEY
  - CLOUDSMS_CAPTCHA__SITES
log-retention: []
{{- end }}
