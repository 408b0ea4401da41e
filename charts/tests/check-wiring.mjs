// The chart wires what it ships, both ways:
// - every key of the values file is read by some template (a key no template uses is a promise the chart does not
//   keep, like a persistence option nothing mounts): its name appears as `.<key>` in charts/beacon/templates, or a
//   key above it is rendered whole (`toYaml ... .<parent>`);
// - every environment variable the rendered manifests give a Beacon container is a setting the code reads: for
//   Section__Key__Sub the section appears as a configuration string in the services' or gateway's C# (or
//   appsettings.json) and each further name as a property or a configuration string there. Platform variables
//   (ASP.NET, .NET, OpenTelemetry, Kestrel endpoints, service discovery) and the chart's own $(VAR) helpers are exempt.
// Heuristic by nature (names, not types): it catches a dead key or variable, not a wrongly typed one.
// Usage: node check-wiring.mjs <repo root> <values.yaml> [rendered.yaml ...]
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";

const [root, valuesFile, ...rendered] = process.argv.slice(2);
const errors = [];

const walk = (dir, ext) => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  if (statSync(p).isDirectory()) return ["bin", "obj", "node_modules", "wwwroot"].includes(f) ? [] : walk(p, ext);
  return ext.some((e) => p.endsWith(e)) ? [p] : [];
});

// 1. values keys used by the templates: each name on the key's path is read as `.<name>` somewhere.
const templates = walk(join(root, "charts/beacon/templates"), [".yaml", ".tpl", ".txt"]).map((f) => readFileSync(f, "utf8")).join("\n");
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const used = (name) => new RegExp(`\\.${escape(name)}(?![A-Za-z0-9_])`).test(templates);
const renderedWhole = (name) => new RegExp(`toYaml[^}]*\\.${escape(name)}(?![A-Za-z0-9_])`).test(templates);
const leaves = (node, path) => {
  if (node === null || typeof node !== "object" || Array.isArray(node) || Object.keys(node).length === 0) return [path];
  return Object.entries(node).flatMap(([k, v]) => leaves(v, [...path, k]));
};
const values = parse(readFileSync(valuesFile, "utf8"));
// Every name on the way down must be read (the components under `services` are ranged over, not named).
for (const path of leaves(values, [])) {
  const names = path.filter((_, i) => !(i === 1 && path[0] === "services"));
  if (path.slice(0, -1).some(renderedWhole)) continue;
  const missing = names.find((n) => !used(n));
  if (missing) errors.push(`${valuesFile}: value ${path.join(".")} is read by no template (nothing reads .${missing})`);
}

// 2. environment variables the code reads.
const sources = [...walk(join(root, "services"), [".cs", "appsettings.json"]), ...walk(join(root, "gateway"), [".cs", "appsettings.json"])]
  .map((f) => readFileSync(f, "utf8")).join("\n");
const exempt = /^(ASPNETCORE_|DOTNET_|OTEL_|BEACON_DB_|BEACON_RABBITMQ_|Kestrel__Endpoints__|services__)/;
const sectionRead = (name) => new RegExp(`"${escape(name)}(:[A-Za-z0-9:]*)?"`).test(sources);
const nameRead = (name) => new RegExp(`\\b${escape(name)}\\s*\\{\\s*get;`).test(sources)
  || new RegExp(`"[A-Za-z0-9:]*:${escape(name)}(:[A-Za-z0-9:]*)?"`).test(sources)
  || new RegExp(`"${escape(name)}"\\s*:`).test(sources);
const checked = new Set();
const checkVariable = (where, name) => {
  if (exempt.test(name) || checked.has(name)) return;
  checked.add(name);
  const parts = name.split("__").filter((p) => !/^\d+$/.test(p));
  if (parts[0] === "ConnectionStrings") {
    if (!new RegExp(`GetConnectionString\\("${escape(parts[1])}"\\)`).test(sources)) errors.push(`${where}: ${name}: no code reads connection string ${parts[1]}`);
    return;
  }
  if (!sectionRead(parts[0])) { errors.push(`${where}: ${name}: no code reads the section ${parts[0]}`); return; }
  for (const part of parts.slice(1)) {
    if (!nameRead(part)) { errors.push(`${where}: ${name}: no code reads ${part}`); return; }
  }
};
for (const file of rendered) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean)) {
    const where = `${file}: ${doc.kind} ${doc.metadata?.name}`;
    if (doc.kind === "ConfigMap") for (const k of Object.keys(doc.data ?? {})) checkVariable(where, k);
    const pod = doc.spec?.jobTemplate?.spec?.template?.spec ?? doc.spec?.template?.spec;
    for (const c of pod?.containers ?? []) for (const e of c.env ?? []) checkVariable(where, e.name);
  }
}

for (const e of errors) console.log(e);
console.log(`checked ${leaves(values, []).length} values and ${checked.size} environment variables; ${errors.length} problems`);
process.exit(errors.length ? 1 : 0);
