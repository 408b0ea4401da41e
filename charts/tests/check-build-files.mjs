// Static checks of what cannot be run here (no Docker engine, no skaffold): skaffold.yaml and the Dockerfiles.
// Every artifact's Dockerfile exists; with the artifact's build args, every COPY source exists in the
// repository, the project published is the one of the chart component the image is for, every project it
// references is copied, and the image runs it as the non-root user on the chiseled runtime; the build args an
// artifact passes are the ones the Dockerfile declares; skaffold sets the repository and tag of every image on a
// component that the chart's values.yaml declares; with a rendered chart, every component's ConfigMap gives the
// addresses of exactly the components topology.json says it calls, and the gateway's clusters name them.
// Usage: node check-build-files.mjs <repo root> [rendered.yaml] [skaffold.yaml, default <repo root>/skaffold.yaml]
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { parse, parseAllDocuments } from "yaml";

const root = process.argv[2];
const errors = [];
const fail = (where, message) => errors.push(`${where}: ${message}`);

const skaffold = parse(readFileSync(process.argv[4] || join(root, "skaffold.yaml"), "utf8"));
const values = parse(readFileSync(join(root, "charts/beacon/values.yaml"), "utf8"));
const artifacts = skaffold.build?.artifacts ?? [];
const release = skaffold.deploy?.helm?.releases?.[0];
if (!release) fail("skaffold.yaml", "no helm release");
if (!existsSync(join(root, release?.chartPath ?? "-", "Chart.yaml"))) fail("skaffold.yaml", `chartPath ${release?.chartPath} is not a chart`);
for (const f of release?.valuesFiles ?? []) if (!existsSync(join(root, f))) fail("skaffold.yaml", `values file ${f} is missing`);
for (const p of skaffold.profiles ?? []) {
  for (const patch of p.patches ?? []) {
    if (patch.path.endsWith("/valuesFiles")) for (const f of patch.value) if (!existsSync(join(root, f))) fail(`skaffold.yaml profile ${p.name}`, `values file ${f} is missing`);
  }
}

const templates = release?.setValueTemplates ?? {};
const dig = (obj, path) => path.split(".").reduce((o, k) => (o === undefined ? undefined : o[k]), obj);
const components = [values.gateway, ...Object.values(values.services)];
if (artifacts.length !== components.length) fail("skaffold.yaml", `${artifacts.length} artifacts for ${components.length} chart components`);

for (const a of artifacts) {
  const where = `skaffold.yaml artifact ${a.image}`;
  const varName = a.image.replace(/[^A-Za-z0-9]/g, "_");
  for (const [part, v] of [["repository", `IMAGE_REPO_${varName}`], ["tag", `IMAGE_TAG_${varName}`]]) {
    const key = Object.keys(templates).find((k) => k.endsWith(`.image.${part}`) && templates[k].includes(`{{.${v}}}`));
    if (!key) fail(where, `no setValueTemplates entry sets an image ${part} from ${v}`);
    else if (dig(values, key.replace(/\.(repository|tag)$/, "")) === undefined) fail(where, `${key} is not a value of the chart`);
  }
  if (a.context !== ".") fail(where, "the build context must be the repository root");
  const dockerfile = a.docker?.dockerfile;
  if (!dockerfile || !existsSync(join(root, dockerfile))) {
    fail(where, `Dockerfile ${dockerfile} is missing`);
    continue;
  }
  const raw = readFileSync(join(root, dockerfile), "utf8");
  // Build arguments: every ARG the build stage uses without a default must come from the artifact's buildArgs,
  // and the artifact may pass none that the Dockerfile does not declare (a typo would be silently ignored).
  const declared = new Map([...raw.matchAll(/^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?\s*$/gm)].map((m) => [m[1], m[2]]));
  const args = { ...Object.fromEntries([...declared].filter(([, v]) => v !== undefined)), ...(a.docker?.buildArgs ?? {}) };
  for (const k of Object.keys(a.docker?.buildArgs ?? {})) if (!declared.has(k)) fail(where, `build arg ${k} is not declared by ${dockerfile}`);
  for (const [k, v] of declared) if (v === undefined && !(k in args)) fail(where, `does not set the build arg ${k} that ${dockerfile} needs`);
  const text = raw.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, x, y) => ((x ?? y) in args ? String(args[x ?? y]) : m));
  const copied = [];
  for (const m of text.matchAll(/^COPY\s+(?!--from)(.+)$/gm)) {
    const sources = m[1].trim().split(/\s+/).slice(0, -1);
    for (const s of sources) {
      if (!existsSync(join(root, s))) fail(`${dockerfile} for ${a.image}`, `COPY source ${s} does not exist`);
      copied.push(s);
    }
  }
  const publish = text.match(/dotnet publish (\S+\.csproj)/);
  if (!publish || !existsSync(join(root, publish[1]))) {
    fail(`${dockerfile} for ${a.image}`, `does not publish an existing project (${publish?.[1]})`);
    continue;
  }
  const csprojText = readFileSync(join(root, publish[1]), "utf8");
  const assembly = csprojText.match(/<AssemblyName>([^<]+)<\/AssemblyName>/)?.[1] ?? publish[1].split("/").pop().replace(/\.csproj$/, "");
  // The right project for the image: the chart component that takes this image's tag is named after it
  // (services.earlyWarning <- EarlyWarning, gateway <- Gateway).
  const component = Object.keys(templates).find((k) => templates[k].includes(`{{.IMAGE_TAG_${varName}}}`))?.replace(/\.image\.tag$/, "").split(".").pop();
  if (component && component.toLowerCase() !== assembly.toLowerCase()) fail(where, `publishes ${assembly} for the chart component ${component}`);
  // Runs what it published: `dotnet <Assembly>.dll`, or the app host, renamed to a fixed name or not.
  const entry = text.match(/^ENTRYPOINT\s+(\[.*\])\s*$/m);
  const argv = entry ? JSON.parse(entry[1]) : [];
  const host = argv[0]?.replace(/^\.\//, "/app/");
  const runsDll = argv[0] === "dotnet" && argv[1] === `${assembly}.dll`;
  const runsHost = argv[0] !== "dotnet" && !/UseAppHost=false/.test(text)
    && (host === `/app/${assembly}` || text.includes(`mv /app/${assembly} ${host}`));
  if (!runsDll && !runsHost) fail(`${dockerfile} for ${a.image}`, `ENTRYPOINT ${entry?.[1]} does not run ${assembly}`);
  if (!/^USER \$APP_UID$/m.test(text)) fail(dockerfile, "does not switch to the non-root app user");
  if (!/^FROM mcr\.microsoft\.com\/dotnet\/sdk:.* AS build$/m.test(text) || !/^FROM mcr\.microsoft\.com\/dotnet\/aspnet:.*-chiseled.* AS final$/m.test(text)) {
    fail(dockerfile, "must build on the .NET SDK image and run on the chiseled ASP.NET runtime image");
  }
  // Every project it references, directly or not, is inside a folder the Dockerfile copies.
  const seen = new Set();
  const follow = (csproj) => {
    if (seen.has(csproj)) return;
    seen.add(csproj);
    if (!existsSync(join(root, csproj))) return fail(`${dockerfile} for ${a.image}`, `referenced project ${csproj} does not exist`);
    if (!copied.some((c) => c === csproj || (c.endsWith("/") && csproj.startsWith(c)))) fail(`${dockerfile} for ${a.image}`, `does not copy referenced project ${csproj}`);
    for (const ref of readFileSync(join(root, csproj), "utf8").matchAll(/ProjectReference Include="([^"]+)"/g)) {
      follow(normalize(join(dirname(csproj), ref[1].replace(/\\/g, "/"))).replace(/\\/g, "/"));
    }
  };
  follow(publish[1]);
}

const rendered = process.argv[3];
if (rendered) {
  // The topology is declared once (topology.json): every component's ConfigMap gives it the address of exactly the
  // components topology.json says it calls (services__<name>__http__0 and __grpc__0, read by .NET service
  // discovery), and the gateway's YARP clusters name only components the gateway calls, by name, never by address.
  const topology = JSON.parse(readFileSync(join(root, "topology.json"), "utf8")).components;
  const configs = parseAllDocuments(readFileSync(rendered, "utf8")).map((d) => d.toJS())
    .filter((d) => d?.kind === "ConfigMap" && d.metadata?.labels?.["app.kubernetes.io/component"]);
  for (const [name, component] of Object.entries(topology)) {
    const config = configs.find((d) => d.metadata.labels["app.kubernetes.io/name"] === name);
    if (!config) {
      fail("chart", `topology.json names ${name}, which has no ConfigMap`);
      continue;
    }
    const keys = Object.keys(config.data ?? {});
    for (const kind of ["http", "grpc"]) {
      const called = keys.map((k) => k.match(new RegExp(`^services__(.+?)__${kind}__0$`))?.[1]).filter(Boolean).sort();
      const expected = [...(component.calls ?? [])].sort();
      if (called.join() !== expected.join()) {
        fail(`${name} ConfigMap`, `gives ${kind} addresses of [${called}] but topology.json says it calls [${expected}]`);
      }
    }
  }
  const clusters = JSON.parse(readFileSync(join(root, "gateway/appsettings.json"), "utf8")).ReverseProxy.Clusters;
  for (const [id, cluster] of Object.entries(clusters)) {
    for (const d of Object.values(cluster.Destinations ?? {})) {
      const host = d.Address.match(/^https?:\/\/(?:_(?:grpc)\.)?([a-z-]+)\/?$/)?.[1];
      if (!host || !(topology.gateway.calls ?? []).includes(host)) {
        fail("gateway/appsettings.json", `cluster ${id} goes to ${d.Address}, not http://<name> or http://_grpc.<name> of a component the gateway calls in topology.json`);
      }
    }
  }
}

for (const e of errors) console.error(`FAIL ${e}`);
console.log(`checked skaffold.yaml, ${artifacts.length} images (${new Set(artifacts.map((a) => a.docker?.dockerfile)).size} Dockerfile)${rendered ? " and the components' addresses against topology.json" : ""}; ${errors.length} problems`);
process.exit(errors.length === 0 ? 0 : 1);
