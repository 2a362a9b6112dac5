// Turns the StatefulSet of a rendered overlay into what its controller
// would create, for `podman kube play`: one PersistentVolumeClaim per
// replica and volumeClaimTemplate, and one Pod per replica.
//
//   node sts-to-pods.mjs RENDERED.yaml OUTDIR PREFIX PORT0 PORT1 ...
//
// Writes OUTDIR/pvc-N.yaml and OUTDIR/pod-N.yaml for N = 0, 1, ... one per
// PORT given (at least the StatefulSet's replicas; more, to scale up).  Like
// the controller, pod N is named <sts>-N (hostname <sts>-N, subdomain the
// governing Service) with the template's labels plus
// statefulset.kubernetes.io/pod-name, and its claim <template>-<sts>-N
// replaces the template volume.  Objects get PREFIX in their podman names
// (pods and volumes) so that runs do not collide; the hostname stays
// <sts>-N; images get it as a tag suffix.  The port named "http" is
// published on 127.0.0.1:PORTn.
// httpGet probes become the same GET with busybox wget (see below).
// podman 4 plays an emptyDir as a named volume called like the pod's
// volume, shared by every pod that uses the name: each pod's emptyDirs are
// renamed PREFIX<pod>-<volume> (in volumes and volumeMounts), so that each
// pod has its own, as in Kubernetes.
// Everything else of the template is kept as it is.
//
// Also writes OUTDIR/facts.env (shell assignments the test reads: the
// default container, the container with the port "http", the pod's user,
// the grace period) and OUTDIR/prestop-CONTAINER (each container's preStop
// command, NUL-separated, for `podman exec`: podman does not run hooks).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(
  path.join(path.dirname(new URL(import.meta.url).pathname),
    "../k8s/package.json"));
const YAML = require("yaml");

const [rendered, outdir, prefix, ...ports] = process.argv.slice(2);
const docs = YAML.parseAllDocuments(fs.readFileSync(rendered, "utf8"))
  .map((d) => d.toJS());
const sts = docs.find((o) => o && o.kind === "StatefulSet");
if (!sts) throw new Error(`${rendered}: no StatefulSet`);
const name = sts.metadata.name;
const replicas = sts.spec.replicas ?? 1;
if (ports.length < replicas)
  throw new Error(`need ${replicas} ports, got ${ports.length}`);

const runImage = (image) => `${image}-${prefix.replace(/-$/, "")}`;

for (let i = 0; i < ports.length; i++) {
  const pvcs = [];
  const podName = `${name}-${i}`;
  const tpl = structuredClone(sts.spec.template);
  const volumes = tpl.spec.volumes ?? [];
  for (const vct of sts.spec.volumeClaimTemplates ?? []) {
    const claim = `${prefix}${vct.metadata.name}-${podName}`;
    pvcs.push({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { ...vct.metadata, name: claim },
      spec: vct.spec,
    });
    const at = volumes.findIndex((v) => v.name === vct.metadata.name);
    if (at >= 0) volumes.splice(at, 1);
    volumes.push({
      name: vct.metadata.name,
      persistentVolumeClaim: { claimName: claim },
    });
  }
  const renamed = new Map();
  for (const v of volumes)
    if (v.emptyDir) {
      renamed.set(v.name, `${prefix}${podName}-${v.name}`);
      v.name = renamed.get(v.name);
    }
  for (const c of tpl.spec.containers)
    for (const m of c.volumeMounts ?? [])
      if (renamed.has(m.name)) m.name = renamed.get(m.name);
  tpl.spec.volumes = volumes;
  tpl.spec.hostname = podName;
  tpl.spec.subdomain = sts.spec.serviceName;
  for (const c of tpl.spec.containers)
    for (const p of c.ports ?? [])
      if (p.name === "http") {
        p.hostIP = "127.0.0.1";
        p.hostPort = Number(ports[i]);
      }
  // Images are this run's own tags of the manifest's (<image>-PREFIX):
  // podman's image store is shared by everyone on the machine, and a
  // build elsewhere must not retag the images under a running test.
  for (const c of tpl.spec.containers) c.image = runImage(c.image);
  // podman runs an httpGet probe inside the container, with curl; the
  // kubelet probes from outside and the images have no curl.  The same
  // request with the images' busybox wget, as an exec probe.
  for (const c of tpl.spec.containers)
    for (const k of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      const get = c[k]?.httpGet;
      if (!get) continue;
      delete c[k].httpGet;
      c[k].exec = { command: ["wget", "-q", "-O", "/dev/null",
        `http://127.0.0.1:${get.port}${get.path ?? "/"}`] };
    }
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${prefix}${podName}`,
      namespace: sts.metadata.namespace,
      labels: {
        ...tpl.metadata.labels,
        "statefulset.kubernetes.io/pod-name": podName,
      },
      annotations: tpl.metadata.annotations,
    },
    spec: tpl.spec,
  };
  fs.writeFileSync(path.join(outdir, `pod-${i}.yaml`), YAML.stringify(pod));
  fs.writeFileSync(path.join(outdir, `pvc-${i}.yaml`),
    pvcs.map((p) => YAML.stringify(p)).join("---\n"));
}
const spec = sts.spec.template.spec;
const q = (v) => `'${String(v ?? "").replace(/'/g, "'\\''")}'`;
const web = spec.containers.find((c) => (c.ports ?? []).some(
  (p) => p.name === "http"));
fs.writeFileSync(path.join(outdir, "facts.env"), [
  `STS_NAME=${q(name)}`,
  `REPLICAS=${q(replicas)}`,
  `DEFAULT_CONTAINER=${q(sts.spec.template.metadata?.annotations?.[
    "kubectl.kubernetes.io/default-container"])}`,
  `WEB_CONTAINER=${q(web?.name)}`,
  `CONTAINERS=${q(spec.containers.map((c) => c.name).join(" "))}`,
  `IMAGES=${q(spec.containers.map((c) => runImage(c.image)).join(" "))}`,
  `RUN_AS_USER=${q(spec.securityContext?.runAsUser)}`,
  `GRACE=${q(spec.terminationGracePeriodSeconds ?? 30)}`,
  `EMPTYDIRS=${q((spec.volumes ?? []).filter((v) => v.emptyDir)
    .map((v) => v.name).join(" "))}`,
  "",
].join("\n"));
for (const c of spec.containers) {
  const cmd = c.lifecycle?.preStop?.exec?.command;
  if (cmd)
    fs.writeFileSync(path.join(outdir, `prestop-${c.name}`),
      cmd.map((a) => `${a}\0`).join(""));
}
