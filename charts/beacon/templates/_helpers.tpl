{{/* Names */}}
{{- define "beacon.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "beacon.fullname" -}}
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

{{/* Labels common to every resource. */}}
{{- define "beacon.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: beacon
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: (list $ $c) */}}
{{- define "beacon.selectorLabels" -}}
{{- $ := index . 0 -}}{{- $c := index . 1 -}}
app.kubernetes.io/name: {{ $c.name }}
app.kubernetes.io/instance: {{ $.Release.Name }}
{{- end -}}

{{- define "beacon.componentLabels" -}}
{{- $ := index . 0 -}}{{- $c := index . 1 -}}
{{ include "beacon.labels" $ }}
{{ include "beacon.selectorLabels" (list $ $c) }}
app.kubernetes.io/component: {{ $c.role }}
{{- end -}}

{{/* Resource name of one component: <fullname>-<component name> */}}
{{- define "beacon.componentName" -}}
{{- $ := index . 0 -}}{{- $c := index . 1 -}}
{{- printf "%s-%s" (include "beacon.fullname" $) $c.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Deep merge (list base override) → YAML. Unlike sprig's mergeOverwrite, false, 0 and "" in the override win,
so a component can switch off what the defaults switch on.
*/}}
{{- define "beacon.merge" -}}
{{- $base := index . 0 -}}{{- $over := index . 1 -}}
{{- $out := deepCopy $base -}}
{{- range $k, $v := $over -}}
{{- if and (kindIs "map" $v) (kindIs "map" (get $out $k)) -}}
{{- $_ := set $out $k (include "beacon.merge" (list (get $out $k) $v) | fromYaml) -}}
{{- else -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
Every component (gateway first, then the services by key), each merged over .Values.defaults, as YAML
{components: [...]}. Use: (include "beacon.components" . | fromYaml).components
*/}}
{{- define "beacon.components" -}}
{{- $list := list -}}
{{- $gw := include "beacon.merge" (list .Values.defaults .Values.gateway) | fromYaml -}}
{{- $_ := set $gw "role" "gateway" -}}
{{- $_ := set $gw "key" "gateway" -}}
{{- $list = append $list $gw -}}
{{- range $key := keys .Values.services | sortAlpha -}}
{{- $svc := include "beacon.merge" (list $.Values.defaults (index $.Values.services $key)) | fromYaml -}}
{{- if ne (toString (default true $svc.enabled)) "false" -}}
{{- $_ := set $svc "role" "service" -}}
{{- $_ := set $svc "key" $key -}}
{{- $list = append $list $svc -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "components" $list) -}}
{{- end -}}

{{/* Image reference of one component: (list $ $c). The tag falls back to the chart's appVersion. */}}
{{- define "beacon.image" -}}
{{- $ := index . 0 -}}{{- $c := index . 1 -}}
{{- $tag := $c.image.tag | default $.Values.image.tag | default $.Chart.AppVersion -}}
{{- if $.Values.image.registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $.Values.image.registry) $c.image.repository (toString $tag) -}}
{{- else -}}
{{- printf "%s:%s" $c.image.repository (toString $tag) -}}
{{- end -}}
{{- end -}}

{{/* RabbitMQ: the Secret and whether the URI is composed. */}}
{{- define "beacon.rabbitmq.secret" -}}
{{- if .Values.rabbitmq.clusterOperator.create -}}
{{- printf "%s-rabbitmq-default-user" (include "beacon.fullname" .) -}}
{{- else -}}
{{- .Values.rabbitmq.auth.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "beacon.rabbitmq.host" -}}
{{- if .Values.rabbitmq.clusterOperator.create -}}
{{- printf "%s-rabbitmq" (include "beacon.fullname" .) -}}
{{- else -}}
{{- .Values.rabbitmq.host -}}
{{- end -}}
{{- end -}}

{{- define "beacon.rabbitmq.uriKey" -}}
{{- if not .Values.rabbitmq.clusterOperator.create -}}{{ .Values.rabbitmq.auth.uriKey }}{{- end -}}
{{- end -}}

{{/* PostgreSQL: the Secret and host. */}}
{{- define "beacon.postgresql.secret" -}}
{{- if .Values.postgresql.cloudNativePG.create -}}
{{- printf "%s-pg-app" (include "beacon.fullname" .) -}}
{{- else -}}
{{- .Values.postgresql.auth.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "beacon.postgresql.host" -}}
{{- if .Values.postgresql.cloudNativePG.create -}}
{{- printf "%s-pg-rw" (include "beacon.fullname" .) -}}
{{- else -}}
{{- .Values.postgresql.host -}}
{{- end -}}
{{- end -}}

{{/* Database name of one service: (list $ $c) → beacon_early_warning */}}
{{- define "beacon.databaseName" -}}
{{- $ := index . 0 -}}{{- $c := index . 1 -}}
{{- printf "%s%s" $.Values.postgresql.databasePrefix ($c.name | replace "-" "_") -}}
{{- end -}}

{{/*
Secret-backed environment of one component: (list $ $c). Credentials come from secretKeyRef; the
connection strings are composed by Kubernetes with $(VAR) expansion, so no credential is ever a value.
*/}}
{{- define "beacon.secretEnv" -}}
{{- $ := index . 0 -}}{{- $c := index . 1 -}}
{{- if and $c.calls $.Values.auth.existingSecret }}
- name: Auth__ClientId
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.auth.existingSecret }}
      key: clientId
- name: Auth__ClientSecret
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.auth.existingSecret }}
      key: clientSecret
{{- end }}
{{- if and (eq $c.role "gateway") $.Values.auth.staffSignIn.existingSecret }}
- name: Auth__Oidc__ClientId
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.auth.staffSignIn.existingSecret }}
      key: clientId
- name: Auth__Oidc__ClientSecret
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.auth.staffSignIn.existingSecret }}
      key: clientSecret
{{- end }}
{{- if and $c.research $c.research.existingSecret }}
- name: Research__PseudonymKey
  valueFrom:
    secretKeyRef:
      name: {{ $c.research.existingSecret }}
      key: pseudonymKey
{{- end }}
{{- if and $c.oneRosterRest $c.oneRosterRest.enabled }}
- name: OneRosterRest__ClientId
  valueFrom:
    secretKeyRef:
      name: {{ $c.oneRosterRest.existingSecret }}
      key: clientId
- name: OneRosterRest__ClientSecret
  valueFrom:
    secretKeyRef:
      name: {{ $c.oneRosterRest.existingSecret }}
      key: clientSecret
{{- end }}
{{- if $c.oneRosterRest }}
{{- range $i, $p := $c.oneRosterRest.connectors }}
- name: OneRosterRest__Connectors__{{ $i }}__ClientId
  valueFrom:
    secretKeyRef:
      name: {{ $p.existingSecret }}
      key: clientId
- name: OneRosterRest__Connectors__{{ $i }}__ClientSecret
  valueFrom:
    secretKeyRef:
      name: {{ $p.existingSecret }}
      key: clientSecret
{{- end }}
{{- end }}
{{- if $c.usesBus }}
{{- $uriKey := include "beacon.rabbitmq.uriKey" $ }}
{{- if $uriKey }}
- name: ConnectionStrings__RabbitMQ
  valueFrom:
    secretKeyRef:
      name: {{ include "beacon.rabbitmq.secret" $ }}
      key: {{ $uriKey }}
{{- else }}
- name: BEACON_RABBITMQ_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ include "beacon.rabbitmq.secret" $ }}
      key: {{ $.Values.rabbitmq.auth.usernameKey }}
- name: BEACON_RABBITMQ_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "beacon.rabbitmq.secret" $ }}
      key: {{ $.Values.rabbitmq.auth.passwordKey }}
{{- $vhost := ternary "/" (printf "/%s" (urlquery $.Values.rabbitmq.vhost)) (eq $.Values.rabbitmq.vhost "/") }}
- name: ConnectionStrings__RabbitMQ
  value: {{ printf "amqp://$(BEACON_RABBITMQ_USERNAME):$(BEACON_RABBITMQ_PASSWORD)@%s:%v%s" (include "beacon.rabbitmq.host" $) $.Values.rabbitmq.port $vhost | quote }}
{{- end }}
{{- end }}
{{- if and $c.usesDatabase $.Values.postgresql.enabled }}
- name: BEACON_DB_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ include "beacon.postgresql.secret" $ }}
      key: {{ $.Values.postgresql.auth.usernameKey }}
- name: BEACON_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "beacon.postgresql.secret" $ }}
      key: {{ $.Values.postgresql.auth.passwordKey }}
- name: ConnectionStrings__Database
  value: {{ printf "Host=%s;Port=%v;Database=%s;Username=$(BEACON_DB_USERNAME);Password=$(BEACON_DB_PASSWORD);SSL Mode=%s" (include "beacon.postgresql.host" $) $.Values.postgresql.port (include "beacon.databaseName" (list $ $c)) $.Values.postgresql.sslMode | quote }}
{{- end }}
{{- end -}}

{{/* Pod security context + container security context are taken from values; see values.yaml. */}}
{{- define "beacon.podSpecCommon" -}}
{{- $ := index . 0 -}}{{- $c := index . 1 -}}
serviceAccountName: {{ include "beacon.componentName" (list $ $c) }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml $c.podSecurityContext | nindent 2 }}
{{- with $.Values.image.pullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
