// Static checks of what cannot be run here (no Docker engine, no skaffold): skaffold.yaml and the Dockerfiles.
// Every artifact's Dockerfile exists and every COPY source in it exists in the repository; each Dockerfile
// publishes the project it names and runs its dll as a non-root user; skaffold sets the repository and tag
// of every image on a component that the chart's values.yaml declares; with a rendered chart, the gateway's
// ConfigMap overrides the address of every YARP cluster in gateway/appsettings.json and of no other.
// Usage: node check-build-files.mjs <repo root> [rendered.yaml]
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";

const root = process.argv[2];
const errors = [];
const fail = (where, message) => errors.push(`${where}: ${message}`);

const skaffold = parse(readFileSync(join(root, "skaffold.yaml"), "utf8"));
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
  const text = readFileSync(join(root, dockerfile), "utf8");
  for (const m of text.matchAll(/^COPY\s+(?!--from)(.+)$/gm)) {
    const sources = m[1].trim().split(/\s+/).slice(0, -1);
    for (const s of sources) if (!existsSync(join(root, s))) fail(dockerfile, `COPY source ${s} does not exist`);
  }
  const publish = text.match(/dotnet publish (\S+\.csproj)/);
  if (!publish || !existsSync(join(root, publish[1]))) fail(dockerfile, "does not publish an existing project");
  const dll = publish?.[1].split("/").pop().replace(/\.csproj$/, ".dll");
  if (!text.includes(`ENTRYPOINT ["dotnet", "${dll}"]`)) fail(dockerfile, `ENTRYPOINT does not run ${dll}`);
  if (!/^USER \$APP_UID$/m.test(text)) fail(dockerfile, "does not switch to the non-root app user");
  if (!/^FROM mcr\.microsoft\.com\/dotnet\/sdk:.* AS build$/m.test(text) || !/^FROM mcr\.microsoft\.com\/dotnet\/aspnet:.* AS final$/m.test(text)) {
    fail(dockerfile, "must build on the .NET SDK image and run on the ASP.NET runtime image");
  }
  const csproj = readFileSync(join(root, publish[1]), "utf8");
  for (const ref of csproj.matchAll(/ProjectReference Include="([^"]+)"/g)) {
    const refPath = join(publish[1], "..", ref[1]).replace(/\\/g, "/");
    const refDir = refPath.split("/").slice(0, -1).join("/");
    if (!text.includes(`COPY ${refPath} `) && !text.includes(`COPY ${refDir}/ `) && !text.includes(`COPY services/Shared/ `)) {
      fail(dockerfile, `does not copy referenced project ${refPath}`);
    }
  }
}

const rendered = process.argv[3];
if (rendered) {
  const clusters = Object.keys(JSON.parse(readFileSync(join(root, "gateway/appsettings.json"), "utf8")).ReverseProxy.Clusters);
  const gatewayConfig = parseAllDocuments(readFileSync(rendered, "utf8")).map((d) => d.toJS())
    .find((d) => d?.kind === "ConfigMap" && d.metadata?.labels?.["app.kubernetes.io/component"] === "gateway");
  const keys = Object.keys(gatewayConfig?.data ?? {});
  const overridden = new Set(keys.map((k) => k.match(/^ReverseProxy__Clusters__(.+?)__Destinations__primary__Address$/)?.[1]).filter(Boolean));
  for (const c of clusters) {
    if (!overridden.has(c)) fail("gateway ConfigMap", `does not set the address of YARP cluster ${c}`);
    const health = JSON.parse(readFileSync(join(root, "gateway/appsettings.json"), "utf8")).ReverseProxy.Clusters[c].Destinations.primary.Health;
    if (health && !keys.includes(`ReverseProxy__Clusters__${c}__Destinations__primary__Health`)) fail("gateway ConfigMap", `does not set the health address of ${c}`);
  }
  for (const c of overridden) if (!clusters.includes(c)) fail("gateway ConfigMap", `sets cluster ${c}, which gateway/appsettings.json does not have`);
}

for (const e of errors) console.error(`FAIL ${e}`);
console.log(`checked skaffold.yaml, ${artifacts.length} Dockerfiles${rendered ? " and the gateway's cluster addresses" : ""}; ${errors.length} problems`);
process.exit(errors.length === 0 ? 0 : 1);
