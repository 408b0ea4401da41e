// Validates rendered Helm output offline: Kubernetes schemas (kubernetes-models), misspelled keys, and
// Beacon's platform rules. Usage: node validate.mjs <rendered.yaml>... ; exit 1 when anything is wrong.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// Custom resources with no schema package here: checked for shape only and listed as such.
const SHAPE_ONLY = new Set([
  "dapr.io/v1alpha1/Component",
  "rabbitmq.com/v1beta1/RabbitmqCluster",
  "postgresql.cnpg.io/v1/Cluster",
  "postgresql.cnpg.io/v1/Database",
]);
const WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"]);
const LONG_RUNNING = new Set(["Deployment", "StatefulSet", "DaemonSet"]);

const errors = [];
const counts = { documents: 0, schemaValidated: 0, keysChecked: 0, shapeOnly: 0 };
const fail = (where, message) => errors.push(`${where}: ${message}`);

async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const candidates = group === "keda.sh"
    ? [`@kubernetes-models/keda/${apiVersion}/${kind}`]
    : [`kubernetes-models/${group ? `${group}/${version}` : version}/${kind}`];
  for (const spec of candidates) {
    try {
      const mod = await import(spec);
      if (mod[kind]) return mod[kind];
    } catch { /* not a known model */ }
  }
  return undefined;
}

function validates(Model, doc) {
  try {
    new Model(doc).validate();
    return undefined;
  } catch (e) {
    return e;
  }
}

// A key is declared by the schema when a value of no JSON type at that key makes validation fail there.
// Kubernetes schemas accept unknown keys silently, so a key that does not fail is not in the schema.
const PROBE = Symbol("probe");
function findUndeclaredKeys(Model, doc, where) {
  const walk = (node, path) => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, [...path, i]));
      return;
    }
    if (node === null || typeof node !== "object") return;
    for (const key of Object.keys(node)) {
      if (path.length === 0 && (key === "apiVersion" || key === "kind")) continue;
      const original = node[key];
      node[key] = PROBE;
      const declared = validates(Model, doc) !== undefined;
      node[key] = original;
      counts.keysChecked++;
      if (!declared) {
        fail(where, `unknown key "${[...path, key].join(".")}" (not in the ${doc.apiVersion} ${doc.kind} schema; misspelled?)`);
      } else {
        walk(original, [...path, key]);
      }
    }
  };
  walk(doc, []);
}

function podSpecOf(doc) {
  if (doc.kind === "CronJob") return doc.spec?.jobTemplate?.spec?.template;
  return doc.spec?.template;
}

function checkImage(where, image) {
  if (!image) return fail(where, "container has no image");
  const lastPart = image.split("/").pop();
  if (image.includes("@sha256:")) return;
  if (!lastPart.includes(":")) return fail(where, `image "${image}" has no image tag (means latest)`);
  const tag = lastPart.split(":").pop();
  if (tag === "" || tag === "latest") fail(where, `image "${image}" uses tag "${tag || "(empty)"}", not a pinned build`);
}

const SECRETISH_NAME = /(password|passwd|secret|token|api[_-]?key|credential)/i;
const ADDRESS_NAME = /(url|uri|endpoint)$/i;
const LITERAL_PASSWORD = /password\s*=\s*(?!\$\()[^;]+/i;
const URI_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:(?!\$\()[^@\s]+@/i;
function checkLiteral(where, name, value) {
  if (typeof value !== "string" || value === "") return;
  if (LITERAL_PASSWORD.test(value)) fail(where, `${name} holds a literal password; take it from a Secret`);
  else if (URI_WITH_PASSWORD.test(value)) fail(where, `${name} holds a URI with a literal password; take it from a Secret`);
  // An address setting (OneRosterRest__TokenUrl: where tokens are asked for) is not a credential when it carries none.
  else if (ADDRESS_NAME.test(name) && /^https?:\/\/[^@\s]+$/i.test(value)) return;
  else if (SECRETISH_NAME.test(name)) fail(where, `${name} looks like a credential but is a literal value; take it from a Secret`);
}

function checkContainer(where, kind, podSpec, c) {
  const at = `${where} container "${c.name}"`;
  checkImage(at, c.image);
  if (LONG_RUNNING.has(kind)) {
    const probes = { livenessProbe: "/healthz/live", startupProbe: "/healthz/live", readinessProbe: "/healthz/ready" };
    for (const [probe, path] of Object.entries(probes)) {
      const p = c[probe];
      if (!p) fail(at, `has no ${probe}`);
      else if (p.httpGet?.path !== path) fail(at, `${probe} must GET ${path} (has ${p.httpGet?.path ?? "no httpGet"})`);
      else if (!(c.ports ?? []).some((port) => port.name === p.httpGet.port || port.containerPort === p.httpGet.port)) {
        fail(at, `${probe} targets port ${p.httpGet.port}, which the container does not declare`);
      }
    }
  }
  for (const side of ["requests", "limits"]) {
    for (const res of ["cpu", "memory"]) {
      if (c.resources?.[side]?.[res] === undefined) fail(at, `has no resources.${side}.${res}`);
    }
  }
  const sc = c.securityContext ?? {};
  const psc = podSpec.securityContext ?? {};
  if (!(sc.runAsNonRoot === true || (sc.runAsNonRoot === undefined && psc.runAsNonRoot === true))) fail(at, "does not set runAsNonRoot: true");
  if (sc.runAsUser === 0 || (sc.runAsUser === undefined && psc.runAsUser === 0)) fail(at, "runs as user 0");
  if (sc.allowPrivilegeEscalation !== false) fail(at, "does not set allowPrivilegeEscalation: false");
  if (sc.privileged === true) fail(at, "is privileged");
  if (sc.readOnlyRootFilesystem !== true) fail(at, "does not set readOnlyRootFilesystem: true");
  if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail(at, "does not drop ALL capabilities");
  if ((sc.capabilities?.add ?? []).length > 0) fail(at, `adds capabilities ${sc.capabilities.add.join(", ")}`);
  for (const e of c.env ?? []) {
    if (e.value !== undefined) checkLiteral(at, `env ${e.name}`, String(e.value));
  }
}

const matches = (selector, labels) =>
  selector && Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v) &&
  (selector.matchExpressions ?? []).length === 0;

async function main(files) {
  const docs = [];
  for (const file of files) {
    for (const d of parseAllDocuments(readFileSync(file, "utf8"))) {
      if (d.errors.length) {
        fail(file, `YAML error: ${d.errors[0].message}`);
        continue;
      }
      const doc = d.toJS();
      if (doc === null || doc === undefined) continue;
      docs.push({ file, doc });
    }
  }
  if (docs.length === 0) fail("input", "no documents rendered");

  const policies = [];
  const pods = [];
  const configMaps = [];
  for (const { file, doc } of docs) {
    counts.documents++;
    const where = `${file}: ${doc?.kind ?? "?"} ${doc?.metadata?.name ?? "?"}`;
    if (!doc?.apiVersion || !doc?.kind || !doc?.metadata?.name) {
      fail(where, "missing apiVersion, kind or metadata.name");
      continue;
    }
    const Model = await modelFor(doc.apiVersion, doc.kind);
    if (Model) {
      const err = validates(Model, structuredClone(doc));
      if (err) fail(where, `schema: ${err.message}`);
      else {
        counts.schemaValidated++;
        findUndeclaredKeys(Model, structuredClone(doc), where);
      }
    } else if (SHAPE_ONLY.has(`${doc.apiVersion}/${doc.kind}`)) {
      counts.shapeOnly++;
      if (typeof doc.spec !== "object" || doc.spec === null) fail(where, "custom resource without spec");
    } else {
      fail(where, `no schema for ${doc.apiVersion} ${doc.kind}`);
    }

    if (doc.kind === "Secret" && (doc.data || doc.stringData)) fail(where, "the chart renders a Secret with values; reference an existing Secret instead");
    if (doc.kind === "ConfigMap") {
      configMaps.push({ where, doc });
      for (const [k, v] of Object.entries(doc.data ?? {})) checkLiteral(where, `key ${k}`, v);
    }
    if (doc.kind === "Component" && doc.apiVersion.startsWith("dapr.io/")) {
      for (const m of doc.spec?.metadata ?? []) {
        if (m.value !== undefined) checkLiteral(where, `metadata ${m.name}`, String(m.value));
      }
      // The Twilio binding uses its component's toNumber before the message's: set, every text would go to that one number.
      if (doc.spec?.type === "bindings.twilio.sms" && (doc.spec.metadata ?? []).some((m) => m.name === "toNumber")) {
        fail(where, "bindings.twilio.sms sets toNumber, which overrides the number each message names");
      }
    }
    if (doc.kind === "Service" && doc.spec?.type && doc.spec.type !== "ClusterIP") {
      fail(where, `Service type ${doc.spec.type}: only the gateway's Ingress is reachable from outside`);
    }
    if (doc.kind === "Ingress") {
      const backends = (doc.spec?.rules ?? []).flatMap((r) => r.http?.paths ?? []).map((p) => p.backend?.service?.name);
      if (doc.spec?.defaultBackend) backends.push(doc.spec.defaultBackend.service?.name);
      for (const b of backends) if (!String(b).endsWith("-gateway")) fail(where, `routes to ${b}; only the gateway may be exposed`);
    }
    if (doc.kind === "NetworkPolicy") policies.push({ where, doc });
    if (WORKLOADS.has(doc.kind)) {
      const template = podSpecOf(doc);
      const spec = template?.spec;
      if (!spec) {
        fail(where, "no pod template");
        continue;
      }
      pods.push({ where, doc, labels: template.metadata?.labels ?? {} });
      if (spec.hostNetwork || spec.hostPID || spec.hostIPC) fail(where, "uses the host's network, PID or IPC namespace");
      if (spec.automountServiceAccountToken !== false) fail(where, "mounts a service account token (automountServiceAccountToken: false)");
      for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) checkContainer(where, doc.kind, spec, c);
    }
  }

  // Every workload is selected by a NetworkPolicy; only the gateway admits peers other than Beacon's pods.
  for (const p of pods) {
    const mine = policies.filter((np) => matches(np.doc.spec?.podSelector, p.labels));
    if (mine.length === 0) fail(p.where, "no NetworkPolicy selects its pods");
    const isGateway = p.labels["app.kubernetes.io/component"] === "gateway";
    for (const np of mine) {
      const types = np.doc.spec?.policyTypes ?? [];
      if (!types.includes("Ingress") || !types.includes("Egress")) fail(np.where, "must restrict both Ingress and Egress");
      if (isGateway) continue;
      for (const rule of np.doc.spec?.ingress ?? []) {
        const from = rule.from ?? [];
        if (from.length === 0) fail(np.where, "admits traffic from anywhere; only the gateway may");
        for (const peer of from) {
          if (peer.ipBlock || peer.namespaceSelector || !peer.podSelector) fail(np.where, "admits peers other than pods of its namespace; only the gateway may");
        }
      }
    }
  }

  checkEgress(policies, configMaps);

  for (const e of errors) console.error(`FAIL ${e}`);
  console.log(`validated ${counts.documents} documents: ${counts.schemaValidated} against Kubernetes/KEDA schemas, ` +
    `${counts.keysChecked} keys checked for misspelling, ${counts.shapeOnly} custom resources by shape only; ${errors.length} problems`);
  process.exit(errors.length === 0 ? 0 : 1);
}

// Egress: no rule lets a pod reach any address on any port, and an "anywhere" block keeps the cluster's and the
// cloud's internal ranges out (a webhook must not be turned inward). Notifications' outbound channels do get out:
// the mail server's port, the webhook proxy's port, or else webhooks on 443 to named peers.
const INTERNAL = ["10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"];
function checkEgress(policies, configMaps) {
  for (const np of policies) {
    for (const rule of np.doc.spec?.egress ?? []) {
      const to = rule.to ?? [];
      if (to.length === 0 && (rule.ports ?? []).length === 0) fail(np.where, "allows egress to any address on any port");
      for (const peer of to) {
        const block = peer.ipBlock;
        if (!block || !["0.0.0.0/0", "::/0"].includes(block.cidr)) continue;
        const missing = block.cidr === "::/0" ? ["(IPv6 internal ranges)"] : INTERNAL.filter((n) => !(block.except ?? []).includes(n));
        if (missing.length) fail(np.where, `egress to ${block.cidr} does not except ${missing.join(", ")}`);
      }
    }
  }
  // Rendered files are checked together: a ConfigMap goes with the policy of the same name in the same file.
  const fileOf = (item) => item.where.slice(0, item.where.indexOf(": "));
  for (const cm of configMaps.filter((c) => c.doc.metadata.name.endsWith("-notifications"))) {
    const np = policies.find((p) => p.doc.metadata.name === cm.doc.metadata.name && fileOf(p) === fileOf(cm));
    if (!np) continue;   // reported above: no NetworkPolicy selects its pods
    const rules = np.doc.spec?.egress ?? [];
    const hasPort = (port, withPeers) => rules.some((r) => (r.ports ?? []).some((p) => Number(p.port) === Number(port)) && (!withPeers || (r.to ?? []).length > 0));
    const data = cm.doc.data ?? {};
    if (data.Notifications__Smtp__Host && !hasPort(data.Notifications__Smtp__Port ?? 25, false)) {
      fail(np.where, `no egress to the mail server port ${data.Notifications__Smtp__Port ?? 25}`);
    }
    if (data.Notifications__Webhooks__Proxy) {
      const proxy = new URL(data.Notifications__Webhooks__Proxy);
      const port = proxy.port || (proxy.protocol === "https:" ? 443 : 80);
      if (!hasPort(port, false)) fail(np.where, `no egress to the webhook proxy port ${port}`);
    } else if (!hasPort(443, true)) {
      fail(np.where, "webhooks cannot leave: no egress on 443 to named peers and no webhook proxy");
    }
  }
  // Ingestion's OneRoster REST pull must be able to reach the provider and its token endpoint.
  // Every connector's provider: the default one (when on) and each of OneRosterRest__Connectors__N__*.
  const providerUrl = /^OneRosterRest__(Connectors__\d+__)?(BaseUrl|TokenUrl)$/;
  for (const cm of configMaps.filter((c) => c.doc.metadata.name.endsWith("-ingestion"))) {
    const np = policies.find((p) => p.doc.metadata.name === cm.doc.metadata.name && fileOf(p) === fileOf(cm));
    if (!np) continue;
    const settings = Object.keys(cm.doc.data ?? {}).filter((k) => providerUrl.test(k) && (k.includes("Connectors") || cm.doc.data.OneRosterRest__Enabled === "true"));
    for (const setting of settings) {
      const url = new URL(cm.doc.data[setting]);
      const port = url.port || (url.protocol === "https:" ? 443 : 80);
      if (!(np.doc.spec?.egress ?? []).some((r) => (r.ports ?? []).some((p) => Number(p.port) === Number(port)))) {
        fail(np.where, `no egress to the OneRoster provider (${setting}) port ${port}`);
      }
    }
  }
}

await main(process.argv.slice(2));
