// Validates Kubernetes objects against the Kubernetes OpenAPI schemas, as
// packaged by kubernetes-models (and @kubernetes-models/prometheus-operator
// for the ServiceMonitor CRD).
//
//   node schema.mjs NAME=rendered.yaml ...
//
// Two checks per object, each one TAP line ("ok - ..." / "not ok - ..."):
//   schema   kubernetes-models' own validate(): types, enums, required
//            fields, formats (the generated JSON schema validators)
//   fields   no unknown field anywhere: the API server drops (or, with
//            kubectl --validate=strict, refuses) fields it does not know,
//            and the schema validators allow them.  The known fields come
//            from the same OpenAPI schema, through kubernetes-models' type
//            declarations, read with the TypeScript compiler.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import YAML from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

// apiVersion -> [package, subpath]
function modelModule(apiVersion) {
  const [group, version] = apiVersion.includes("/")
    ? apiVersion.split("/")
    : ["", apiVersion];
  if (group === "monitoring.coreos.com")
    return ["@kubernetes-models/prometheus-operator", `${group}/${version}`];
  return ["kubernetes-models", group ? `${group}/${version}` : version];
}

function declarationFile(apiVersion, kind) {
  const [pkg, sub] = modelModule(apiVersion);
  const root = path.dirname(require.resolve(`${pkg}/package.json`));
  return path.join(root, sub, `${kind}.d.ts`);
}

function loadDocs(file) {
  return YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))
    .map((d) => d.toJS())
    .filter((o) => o !== null);
}

// --- unknown fields, from the type declarations -----------------------------

let checker;
const rootTypes = new Map();

function buildProgram(files) {
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    baseUrl: here,
  });
  checker = program.getTypeChecker();
  for (const f of files) {
    const sf = program.getSourceFile(f);
    if (!sf) continue;
    const kind = path.basename(f, ".d.ts");
    const sym = checker.getSymbolAtLocation(sf);
    const exp = sym && checker.getExportsOfModule(sym).find(
      (s) => s.name === `I${kind}`);
    if (exp) rootTypes.set(f, checker.getDeclaredTypeOfSymbol(exp));
  }
}

function withoutNullish(type) {
  if (!type.isUnion()) return [type];
  return type.types.filter(
    (t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
}

function unknownFields(value, type, where, out) {
  if (value === null || value === undefined || typeof value !== "object")
    return;
  const candidates = withoutNullish(type);
  if (candidates.some((t) => t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)))
    return;
  if (Array.isArray(value)) {
    const arr = candidates.find((t) => checker.isArrayType(t));
    if (!arr) return; // a type mismatch: schema validation reports it
    const elem = checker.getTypeArguments(arr)[0];
    value.forEach((v, i) => unknownFields(v, elem, `${where}[${i}]`, out));
    return;
  }
  const obj = candidates.find(
    (t) => t.flags & ts.TypeFlags.Object && !checker.isArrayType(t));
  if (!obj) return;
  const index = checker.getIndexInfoOfType(obj, ts.IndexKind.String);
  const props = new Map(
    checker.getPropertiesOfType(obj).map((p) => [p.name, p]));
  if (props.size === 0 && !index) return; // free-form object
  for (const [key, v] of Object.entries(value)) {
    const prop = props.get(key);
    if (prop) {
      unknownFields(v, checker.getTypeOfSymbol(prop), `${where}.${key}`, out);
    } else if (index) {
      unknownFields(v, index.type, `${where}.${key}`, out);
    } else {
      out.push(`${where}.${key}`);
    }
  }
}

// --- main --------------------------------------------------------------------

function tap(ok, desc, diag = []) {
  console.log(`${ok ? "ok" : "not ok"} - ${desc}`);
  for (const d of diag) console.log(`#   ${d}`);
}

const inputs = process.argv.slice(2).map((a) => {
  const i = a.indexOf("=");
  return { name: a.slice(0, i), file: a.slice(i + 1) };
});
const all = [];
for (const { name, file } of inputs)
  for (const obj of loadDocs(file)) all.push({ name, obj });

const decls = new Set();
for (const { obj } of all) {
  const f = declarationFile(obj.apiVersion, obj.kind);
  if (fs.existsSync(f)) decls.add(f);
}
buildProgram([...decls]);

for (const { name, obj } of all) {
  const id = `${name}: ${obj.kind} ${obj.metadata?.name}`;
  const [pkg, sub] = modelModule(obj.apiVersion);
  let Model;
  try {
    Model = (await import(`${pkg}/${sub}`))[obj.kind];
  } catch {
    Model = undefined;
  }
  if (!Model) {
    tap(false, `${id}: schema (no model for ${obj.apiVersion} ${obj.kind})`);
    continue;
  }
  try {
    new Model(obj).validate();
    tap(true, `${id}: schema`);
  } catch (e) {
    tap(false, `${id}: schema`, String(e.message).split("\n"));
  }
  const type = rootTypes.get(declarationFile(obj.apiVersion, obj.kind));
  if (!type) {
    tap(false, `${id}: no unknown fields (no type declaration found)`);
    continue;
  }
  const unknown = [];
  unknownFields(obj, type, obj.kind, unknown);
  tap(unknown.length === 0, `${id}: no unknown fields`,
    unknown.map((u) => `unknown field ${u}`));
}
