{{/*
The chart's name: "visits" unless nameOverride.
*/}}
{{- define "visits.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The objects' name: the release name when it contains the chart's name
("helm install visits ..." gives StatefulSet visits, pods visits-0, ...),
else RELEASE-visits; fullnameOverride sets it.  At most 63 characters
less the "-headless" of the governing Service.
*/}}
{{- define "visits.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The governing (headless) Service: each pod's DNS name is
POD.<this name>, and GET /cluster asks its pods.
*/}}
{{- define "visits.headlessName" -}}
{{- include "visits.fullname" . }}-headless
{{- end }}

{{/*
chart label: name-version.
*/}}
{{- define "visits.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The labels that select the pods: the StatefulSet's selector is immutable,
so only what never changes for a release (no version, no chart).
*/}}
{{- define "visits.selectorLabels" -}}
app.kubernetes.io/name: {{ include "visits.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels every object of the app carries, after the selector's.  Who
applies them: Helm, or (managedBy) the tool that applies the plain
manifests rendered from this chart, without the chart label then.
*/}}
{{- define "visits.labels" -}}
{{ include "visits.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: web
app.kubernetes.io/part-of: {{ include "visits.name" . }}
app.kubernetes.io/managed-by: {{ .Values.managedBy | default .Release.Service }}
{{- if not .Values.managedBy }}
helm.sh/chart: {{ include "visits.chart" . }}
{{- end }}
{{- end }}

{{/*
An image of values.images: repository:tag, the tag the chart's
appVersion unless set.  Call with (list $ .Values.images.NAME).
*/}}
{{- define "visits.image" -}}
{{- $top := index . 0 }}
{{- $img := index . 1 }}
{{- printf "%s:%s" $img.repository (toString (default $top.Chart.AppVersion $img.tag)) }}
{{- end }}
