// The dashboard's modules must form no import cycle, and only the shell (app.js) may import a page: a page that
// imports the shell or another page is how the cycles app.js <-> pages/counselor.js and pages/ops.js came about.
// Shared components and helpers live in modules of their own (components.js, lifecycle.js, dom.js, ...).
// Usage: node check-imports.mjs <folder of the modules, e.g. gateway/wwwroot/js>. Exit code 0 = no problem.
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join, dirname, relative, resolve } from "node:path";

const root = resolve(process.argv[2] ?? ".");
const files = readdirSync(root, { recursive: true }).filter((f) => f.endsWith(".js")).map((f) => join(root, f));
const name = (f) => relative(root, f).replace(/\\/g, "/");
const errors = [];

// Static imports and re-exports (import x from '...', import '...', export ... from '...') and dynamic import('...').
const specifiers = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
const graph = new Map();
for (const f of files) {
  const text = readFileSync(f, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const targets = [];
  for (const m of text.matchAll(specifiers)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec.startsWith(".")) continue;
    const target = resolve(dirname(f), spec);
    if (!existsSync(target)) errors.push(`${name(f)} imports ${spec}, which does not exist`);
    targets.push(target);
  }
  graph.set(f, targets);
}

const isPage = (f) => name(f).startsWith("pages/");
for (const [f, targets] of graph) {
  for (const t of targets) {
    if (name(t) === "app.js") errors.push(`${name(f)} imports the shell app.js`);
    if (isPage(t) && name(f) !== "app.js") errors.push(`${name(f)} imports the page ${name(t)}: shared code belongs in a module of its own`);
  }
}

// Depth-first search; a module met again while still on the path closes a cycle.
const state = new Map();
const path = [];
const visit = (f) => {
  state.set(f, "open");
  path.push(f);
  for (const t of graph.get(f) ?? []) {
    if (state.get(t) === "open") errors.push(`import cycle: ${[...path.slice(path.indexOf(t)), t].map(name).join(" -> ")}`);
    else if (!state.has(t)) visit(t);
  }
  path.pop();
  state.set(f, "done");
};
for (const f of graph.keys()) if (!state.has(f)) visit(f);

for (const e of errors) console.error(`FAIL ${e}`);
console.log(`checked ${files.length} modules; ${errors.length} problems`);
process.exit(errors.length === 0 ? 0 : 1);
