// Validates Kubernetes manifests offline, the way an API server would, with the schemas of the npm packages
// kubernetes-models (core API), @kubernetes-models/traefik (traefik.io CRDs) and @kubernetes-models/prometheus-operator
// (monitoring.coreos.com CRDs):
//   1. the package's JSON-schema validation (types, required fields, enums, formats);
//   2. unknown fields: the schemas above accept any extra property, while `kubectl apply` (strict field validation)
//      rejects them, so every field of every object is also checked against the model's TypeScript declarations.
//
//   node validate-manifests.mjs FILE...      (a FILE of "-" reads standard input; files may hold several documents)
//   node validate-manifests.mjs --fragment=traefik.io/v1alpha1/ForwardAuth FILE...
//       every document of the FILEs after it is one object of that (non top-level) model, e.g. the forwardAuth block
//       of a Traefik file-provider middleware or one rebuilt from Docker labels;
//
// Prints one JSON array, an element per document: {source, index, apiVersion, kind, name, status, errors}, where
// status is "valid", "invalid" or "unknown-kind" (no schema for that apiVersion/kind in these packages).
// Exit code 1 when a document is invalid or not YAML, 0 otherwise (the caller decides about unknown kinds).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const modelPackages = ["kubernetes-models", "@kubernetes-models/traefik", "@kubernetes-models/prometheus-operator"];

// ---- TypeScript declaration reader (only what the generated .d.ts files of these packages use) ----------------

const declarationFiles = new Map(); // path -> { imports: Map<name, dtsPath>, aliases: Map<exported, local>, interfaces, types }

function packageDirectory(name, from) {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dirname(dir) === dir) throw new Error(`cannot find package ${name} from ${from}`);
  }
}

function resolveDeclaration(specifier, from) {
  if (specifier.startsWith(".")) return join(dirname(from), specifier.replace(/\.js$/, "") + ".d.ts");
  const parts = specifier.split("/");
  const nameLength = specifier.startsWith("@") ? 2 : 1;
  const dir = packageDirectory(parts.slice(0, nameLength).join("/"), from);
  const sub = parts.slice(nameLength).join("/");
  return sub ? join(dir, sub + ".d.ts") : join(dir, "index.d.ts");
}

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

// Reads a balanced {...} starting at text[start] === "{"; returns the index after the closing brace.
function skipBalanced(text, start) {
  const open = { "{": "}", "<": ">", "(": ")", "[": "]" };
  const stack = [];
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"') { i = text.indexOf('"', i + 1); continue; }
    if (open[c]) stack.push(open[c]);
    else if (c === stack[stack.length - 1]) { stack.pop(); if (stack.length === 0) return i + 1; }
  }
  throw new Error("unbalanced declaration text");
}

// Splits an object type body ('"a"?: T; "b": U;' or '[key: string]: T;') into its members.
function parseMembers(body) {
  const members = [];
  let i = 0;
  while (i < body.length) {
    while (i < body.length && /[\s;,]/.test(body[i])) i++;
    if (i >= body.length) break;
    let name;
    if (body[i] === "[") {
      const end = body.indexOf("]", i);
      name = "[index]";
      i = end + 1;
    } else if (body[i] === '"') {
      const end = body.indexOf('"', i + 1);
      name = body.slice(i + 1, end);
      i = end + 1;
    } else {
      const m = /^[A-Za-z_$][\w$]*/.exec(body.slice(i));
      if (!m) throw new Error(`cannot read member at: ${body.slice(i, i + 40)}`);
      name = m[0];
      i += name.length;
    }
    if (body[i] === "?") i++;
    while (/\s/.test(body[i])) i++;
    if (body[i] !== ":") throw new Error(`expected ':' after ${name}`);
    i++;
    let start = i;
    while (i < body.length && body[i] !== ";") {
      if ("{<([".includes(body[i])) i = skipBalanced(body, i);
      else if (body[i] === '"') i = body.indexOf('"', i + 1) + 1;
      else i++;
    }
    members.push({ name, type: body.slice(start, i).trim() });
  }
  return members;
}

function loadDeclarations(path) {
  if (declarationFiles.has(path)) return declarationFiles.get(path);
  const text = stripComments(readFileSync(path, "utf8"));
  const file = { path, imports: new Map(), aliases: new Map(), interfaces: new Map(), types: new Map() };
  declarationFiles.set(path, file);
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    for (const name of m[1].split(",").map(s => s.trim()).filter(Boolean)) {
      const [imported, local] = name.split(/\s+as\s+/);
      file.imports.set((local ?? imported).trim(), { path: resolveDeclaration(m[2], path), name: imported.trim() });
    }
  }
  for (const m of text.matchAll(/export\s+type\s*\{([^}]*)\}/g)) {
    for (const name of m[1].split(",").map(s => s.trim()).filter(Boolean)) {
      const [local, exported] = name.split(/\s+as\s+/);
      file.aliases.set((exported ?? local).trim(), local.trim());
    }
  }
  for (const m of text.matchAll(/export\s+interface\s+(\w+)(?:\s+extends\s+([^{]+))?\s*\{/g)) {
    const open = m.index + m[0].length - 1;
    const body = text.slice(open + 1, skipBalanced(text, open) - 1);
    const bases = (m[2] ?? "").split(",").map(s => s.trim()).filter(Boolean);
    file.interfaces.set(m[1], { bases, members: parseMembers(body) });
  }
  for (const m of text.matchAll(/export\s+type\s+(\w+)\s*=\s*([^;]+);/g)) file.types.set(m[1], m[2].trim());
  return file;
}

// A resolved type: { kind: "any" } | { kind: "object", fields: Map<name, type>, index: type|null } | { kind: "array", of }
// | { kind: "union", options: [...] }. Field types are resolved lazily (the graphs are recursive, e.g. JSONSchemaProps).
const resolvedNames = new Map();

function resolveName(file, name) {
  const key = file.path + "#" + name;
  if (resolvedNames.has(key)) return resolvedNames.get(key);
  const placeholder = { kind: "lazy" };
  resolvedNames.set(key, placeholder);
  let result;
  const local = file.aliases.get(name) ?? name;
  if (name === "TypeMeta") {
    result = { kind: "object", fields: new Map([["apiVersion", { kind: "any" }], ["kind", { kind: "any" }]]), index: null };
  } else if (file.interfaces.has(local)) {
    const decl = file.interfaces.get(local);
    const fields = new Map();
    let index = null;
    for (const base of decl.bases) {
      const b = resolveName(file, base);
      const baseType = b.kind === "lazy" ? b.target : b;
      if (baseType?.kind === "object") { for (const [k, v] of baseType.fields) fields.set(k, v); index ??= baseType.index; }
      else index = { kind: "any" }; // a base we cannot read: accept anything rather than report false unknowns
    }
    for (const member of decl.members) {
      const typeText = member.type;
      const lazy = { kind: "lazy", get target() { return (this._t ??= resolveType(file, typeText)); } };
      if (member.name === "[index]") index = lazy; else fields.set(member.name, lazy);
    }
    result = { kind: "object", fields, index };
  } else if (file.types.has(local)) {
    result = resolveType(file, file.types.get(local));
  } else if (file.imports.has(name)) {
    const imp = file.imports.get(name);
    result = resolveName(loadDeclarations(imp.path), imp.name);
  } else {
    result = { kind: "any" }; // ModelData, Model, primitives spelled as names…
  }
  placeholder.target = result.kind === "lazy" ? result.target : result;
  resolvedNames.set(key, placeholder.target);
  return placeholder.target;
}

function splitTopLevel(text, separator) {
  const parts = [];
  let depth = 0, start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') { i = text.indexOf('"', i + 1); continue; }
    if ("{<([".includes(c)) depth++;
    else if ("}>)]".includes(c)) depth--;
    else if (c === separator && depth === 0) { parts.push(text.slice(start, i)); start = i + 1; }
  }
  parts.push(text.slice(start));
  return parts.map(s => s.trim()).filter(Boolean);
}

function resolveType(file, text) {
  text = text.trim();
  const union = splitTopLevel(text, "|");
  if (union.length > 1) return { kind: "union", options: union.map(t => resolveType(file, t)) };
  if (text.startsWith("(") && text.endsWith(")")) return resolveType(file, text.slice(1, -1));
  let m = /^Array<([\s\S]*)>$/.exec(text);
  if (m) return { kind: "array", of: resolveType(file, m[1]) };
  if (text.endsWith("[]")) return { kind: "array", of: resolveType(file, text.slice(0, -2)) };
  if (text.startsWith("{")) {
    const fields = new Map();
    let index = null;
    for (const member of parseMembers(text.slice(1, -1))) {
      const t = resolveType(file, member.type);
      if (member.name === "[index]") index = t; else fields.set(member.name, t);
    }
    return { kind: "object", fields, index };
  }
  if (/^(string|number|boolean|null|undefined|any|unknown|object|true|false)$/.test(text) || /^["\d-]/.test(text)) return { kind: "any" };
  if (/^[A-Za-z_$][\w$]*$/.test(text)) return resolveName(file, text);
  return { kind: "any" };
}

function deref(type) {
  while (type && type.kind === "lazy") type = type.target;
  return type;
}

// Collects "path: unknown field" errors.
function checkFields(value, type, path, errors) {
  type = deref(type);
  if (!type || type.kind === "any" || value === null || value === undefined) return;
  if (type.kind === "union") {
    const objectOption = type.options.map(deref).find(o => o.kind === (Array.isArray(value) ? "array" : "object"));
    if (objectOption) checkFields(value, objectOption, path, errors);
    return;
  }
  if (type.kind === "array") {
    if (Array.isArray(value)) value.forEach((v, i) => checkFields(v, type.of, `${path}/${i}`, errors));
    return;
  }
  if (type.kind === "object" && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (type.fields.has(k)) checkFields(v, type.fields.get(k), `${path}/${k}`, errors);
      else if (type.index) checkFields(v, type.index, `${path}/${k}`, errors);
      else errors.push(`${path}/${k}: unknown field "${k}"`);
    }
  }
}

// ---- models ------------------------------------------------------------------------------------------------

async function findModel(apiVersion, kind, fragment) {
  for (const pkg of modelPackages) {
    const dir = packageDirectory(pkg, join(here, "validate-manifests.mjs"));
    const js = join(dir, apiVersion, kind + ".js");
    if (!apiVersion || !kind || !existsSync(js)) continue;
    const module = await import(`${pkg}/${apiVersion}/${kind}`);
    const Model = module[kind];
    const matches = fragment ? typeof Model === "function" : Model?.apiVersion === apiVersion && Model?.kind === kind;
    if (matches) return { Model, declaration: js.replace(/\.js$/, ".d.ts") };
  }
  return null;
}

async function validateDocument(doc, fragment) {
  const errors = [];
  const [apiVersion, kind] = fragment ? [fragment.slice(0, fragment.lastIndexOf("/")), fragment.slice(fragment.lastIndexOf("/") + 1)] : [doc.apiVersion, doc.kind];
  const model = await findModel(apiVersion, kind, Boolean(fragment));
  if (!model && fragment) throw new Error(`no model ${fragment}`);
  if (!model) return { status: "unknown-kind", errors };
  try {
    new model.Model(doc).validate();
  } catch (e) {
    for (const err of e.errors ?? [{ instancePath: "", message: e.message }]) {
      errors.push(`${err.instancePath || "/"}: ${err.message}${err.params ? " " + JSON.stringify(err.params) : ""}`);
    }
  }
  const file = loadDeclarations(model.declaration);
  const iface = `I${kind}`;
  checkFields(doc, resolveName(file, iface), "", errors);
  return { status: errors.length ? "invalid" : "valid", errors };
}

const args = process.argv.slice(2);
if (args.filter(a => !a.startsWith("--")).length === 0) {
  console.error("usage: node validate-manifests.mjs [--fragment=API_VERSION/TYPE] FILE... ('-' for standard input)");
  process.exit(2);
}

const results = [];
let failed = false;
let fragment = null;
for (const source of args) {
  if (source.startsWith("--fragment=")) { fragment = source.slice("--fragment=".length); continue; }
  const text = source === "-" ? readFileSync(0, "utf8") : readFileSync(source, "utf8");
  const documents = parseAllDocuments(text);
  let index = 0;
  for (const d of documents) {
    const entry = { source, index: index++, apiVersion: null, kind: null, name: null, status: "invalid", errors: [] };
    if (d.errors.length) {
      entry.errors = d.errors.map(e => `not YAML: ${e.message}`);
      failed = true;
      results.push(entry);
      continue;
    }
    const doc = d.toJS();
    if (doc === null || doc === undefined) { index--; continue; } // an empty document (a template that rendered nothing)
    Object.assign(entry, { apiVersion: doc.apiVersion ?? null, kind: doc.kind ?? null, name: doc.metadata?.name ?? null });
    if (fragment) {
      Object.assign(entry, { kind: fragment }, await validateDocument(doc, fragment));
      failed ||= entry.status === "invalid";
    } else if (typeof doc !== "object" || !doc.apiVersion || !doc.kind) {
      entry.errors = ["not a Kubernetes object (apiVersion and kind are required)"];
      failed = true;
    } else {
      Object.assign(entry, await validateDocument(doc));
      failed ||= entry.status === "invalid";
    }
    results.push(entry);
  }
}

console.log(JSON.stringify(results, null, 2));
process.exit(failed ? 1 : 0);
