// Policy checks on the rendered overlays: what the README and
// doc/KUBERNETES.md promise of the manifests, and that the manifests
// agree with nginx/nginx.conf, the program's defaults and the Containerfiles.
//
//   node policy.mjs --top DIR --help HELP.txt NAME=rendered.yaml ...
//
// HELP.txt is the output of `visits-fcgi --help`.  An overlay named
// "minikube" must set the storage class "standard".  One TAP line per
// check and overlay ("ok - ..." / "not ok - ...", diagnostics as "#").
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const YAML = require("yaml");

// --- arguments ----------------------------------------------------------------

const args = process.argv.slice(2);
let top = ".";
let helpFile;
const overlays = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--top") top = args[++i];
  else if (args[i] === "--help") helpFile = args[++i];
  else {
    const at = args[i].indexOf("=");
    overlays.push({ name: args[i].slice(0, at), file: args[i].slice(at + 1) });
  }
}

// --- output ---------------------------------------------------------------------

function check(desc, fn) {
  let problems;
  try {
    problems = fn() ?? [];
  } catch (e) {
    problems = [`exception: ${e.message}`];
  }
  console.log(`${problems.length === 0 ? "ok" : "not ok"} - ${desc}`);
  for (const p of problems) console.log(`#   ${p}`);
}

// expect(problems, cond, message): collects message when cond is false
function expect(problems, cond, message) {
  if (!cond) problems.push(message);
}

// --- the other parts: nginx.conf, program defaults, Containerfiles -----------

const read = (rel) => fs.readFileSync(path.join(top, rel), "utf8");

// nginx.conf without comments, as directive -> [values]
const nginxConf = read("nginx/nginx.conf")
  .split("\n")
  .map((l) => l.replace(/#.*/, "").trim())
  .join("\n");
function nginxDirective(name) {
  const re = new RegExp(`(?:^|[\\s;{}])${name}\\s+([^;{]+)[;{]`, "g");
  return [...nginxConf.matchAll(re)].map((m) => m[1].trim());
}
const nginx = {
  listen: nginxDirective("listen").map((v) => v.split(/\s+/)[0]),
  socket: nginxDirective("server")
    .filter((v) => v.startsWith("unix:"))
    .map((v) => v.split(/\s+/)[0].slice("unix:".length)),
  pid: nginxDirective("pid")[0],
  temp: [
    "client_body_temp_path", "fastcgi_temp_path", "proxy_temp_path",
    "uwsgi_temp_path", "scgi_temp_path",
  ].map((d) => nginxDirective(d)[0]),
  exact: nginxDirective("location").filter((v) => v.startsWith("= "))
    .map((v) => v.slice(2).trim()),
};

// visits-fcgi --help: "[VISITS_DATA_DIR, default /data]"
const help = helpFile ? fs.readFileSync(helpFile, "utf8") : "";
function programDefault(env) {
  const flat = help.replace(/\s+/g, " ");
  const m = flat.match(new RegExp(`\\[${env}, default ([^\\],]+)[\\],]`));
  return m ? m[1].trim() : undefined;
}

// Containerfile: stages, final USER, CMD, STOPSIGNAL
function containerfile(rel) {
  const text = read(rel).replace(/\\\n/g, " ");
  const lines = text.split("\n").map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const froms = lines.filter((l) => /^FROM\s/i.test(l));
  const last = lines.slice(lines.lastIndexOf(froms[froms.length - 1]));
  const get = (instr) => last.filter((l) => new RegExp(`^${instr}\\s`, "i")
    .test(l)).map((l) => l.replace(/^\S+\s+/, "")).pop();
  const args = Object.fromEntries(lines.filter((l) => /^ARG\s/i.test(l))
    .map((l) => l.replace(/^ARG\s+/i, "").split("=")));
  const cmd = get("CMD");
  return {
    froms: froms.map((l) => l.replace(/^FROM\s+/i, "").split(/\s+/)[0]
      .replace(/^\$\{?(\w+)\}?$/, (_, a) => args[a] ?? a)),
    stages: froms.map((l) => (l.match(/\sAS\s+(\S+)/i) ?? [])[1])
      .filter(Boolean),
    user: get("USER"),
    stopsignal: get("STOPSIGNAL"),
    cmd: cmd ? JSON.parse(cmd) : undefined,
    copies: lines.filter((l) => /^COPY\s/i.test(l))
      .map((l) => l.replace(/^COPY\s+/i, "")),
  };
}
const fcgiImage = containerfile("fcgi/Containerfile");
const nginxImage = containerfile("nginx/Containerfile");

// visits-fcgi --help: "exit 0 on a 200 within 2 s"
function checkTimeoutMs() {
  const m = help.replace(/\s+/g, " ").match(/a 200 within (\d+) s/);
  return m ? Number(m[1]) * 1000 : NaN;
}

// fcgi/visits-serve, the one spawn-fcgi command line: its default socket
// (VISITS_SOCKET) and the socket's mode.
const serve = read("fcgi/visits-serve");
const serveSocket = (serve.match(/\$\{VISITS_SOCKET:-([^}]+)\}/) ?? [])[1];
const serveMode = (serve.match(/\s-M\s+(\S+)/) ?? [])[1];

// --- helpers on the rendered objects ----------------------------------------------

function loadDocs(file) {
  return YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))
    .map((d) => d.toJS()).filter((o) => o !== null);
}

const NON_COUNTING = new Set(["/healthz", "/readyz", "/nginx-healthz"]);
const RECOMMENDED = [
  "app.kubernetes.io/name", "app.kubernetes.io/instance",
  "app.kubernetes.io/component", "app.kubernetes.io/part-of",
  "app.kubernetes.io/managed-by",
];
const RESTRICTED_VOLUMES = [
  "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
  "persistentVolumeClaim", "projected", "secret",
];

function probes(c) {
  return ["startupProbe", "readinessProbe", "livenessProbe"]
    .filter((k) => c[k]).map((k) => [k, c[k]]);
}

function matches(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

// The exec probe that asks the program itself (fcgi/visits-serve)
const isCheck = (pr) =>
  JSON.stringify(pr?.exec?.command) === '["visits-serve","--check"]';

// --- the checks ------------------------------------------------------------------

for (const { name, file } of overlays) {
  const objs = loadDocs(file);
  const find = (kind, n) => objs.find(
    (o) => o.kind === kind && o.metadata?.name === n);
  const sts = find("StatefulSet", "visits");
  const svc = find("Service", "visits");
  const headless = find("Service", "visits-headless");
  const pdb = objs.find((o) => o.kind === "PodDisruptionBudget");
  const pod = sts?.spec?.template;
  const ps = pod?.spec ?? {};
  const containers = ps.containers ?? [];
  const allContainers = [...(ps.initContainers ?? []), ...containers];
  const defName = pod?.metadata?.annotations?.[
    "kubectl.kubernetes.io/default-container"];
  const prog = containers.find((c) => c.name === defName);
  const web = containers.find(
    (c) => (c.ports ?? []).some((p) => p.name === "http"));
  const t = (desc, fn) => check(`${name}: ${desc}`, fn);

  t("StatefulSet visits: 3 replicas, Parallel, serviceName visits-headless",
    () => {
      const p = [];
      expect(p, sts, "no StatefulSet visits");
      if (!sts) return p;
      expect(p, sts.spec.replicas === 3, `replicas ${sts.spec.replicas}`);
      expect(p, sts.spec.podManagementPolicy === "Parallel",
        `podManagementPolicy ${sts.spec.podManagementPolicy}`);
      expect(p, sts.spec.serviceName === "visits-headless",
        `serviceName ${sts.spec.serviceName}`);
      return p;
    });

  t("volumeClaimTemplates data: 1Gi ReadWriteOnce, mounted at /data by the " +
    "default container", () => {
    const p = [];
    const vct = (sts?.spec?.volumeClaimTemplates ?? [])
      .find((v) => v.metadata?.name === "data");
    expect(p, vct, "no volumeClaimTemplate data");
    if (!vct) return p;
    expect(p, vct.spec.resources?.requests?.storage === "1Gi",
      `storage ${vct.spec.resources?.requests?.storage}`);
    expect(p, JSON.stringify(vct.spec.accessModes) === '["ReadWriteOnce"]',
      `accessModes ${vct.spec.accessModes}`);
    expect(p, prog, `default container "${defName}" is not a container`);
    const m = (prog?.volumeMounts ?? []).find((v) => v.name === "data");
    expect(p, m?.mountPath === "/data", `data mounted at ${m?.mountPath}`);
    for (const c of containers)
      if (c !== prog)
        expect(p, !(c.volumeMounts ?? []).some((v) => v.name === "data"),
          `${c.name} mounts the counter volume too`);
    const sc = vct.spec.storageClassName;
    if (name === "minikube")
      expect(p, sc === "standard", `storageClassName ${sc}, not standard`);
    return p;
  });

  t("two containers: the program (default exec container, with the fcgi " +
    "image) and nginx (port http, with the nginx image)", () => {
    const p = [];
    expect(p, containers.length === 2, `${containers.length} containers`);
    expect(p, prog && /visits-fcgi:/.test(prog.image),
      `default container image ${prog?.image}`);
    expect(p, web && /visits-nginx:/.test(web.image),
      `container with port http: ${web?.name} ${web?.image}`);
    expect(p, prog !== web, "the program and nginx are the same container");
    return p;
  });

  t("the program runs the image's CMD (visits-serve) on its socket; " +
    "nginx's upstream and a shared emptyDir agree", () => {
    const p = [];
    expect(p, !prog?.command && !prog?.args,
      `the program sets a command line: ${JSON.stringify(
        [...(prog?.command ?? []), ...(prog?.args ?? [])])}`);
    expect(p, JSON.stringify(fcgiImage.cmd) === '["visits-serve"]',
      `fcgi/Containerfile CMD ${JSON.stringify(fcgiImage.cmd)}`);
    const env = (prog?.env ?? []).find((e) => e.name === "VISITS_SOCKET");
    const sock = env?.value ?? serveSocket;
    expect(p, sock, "no socket path in fcgi/visits-serve");
    expect(p, nginx.socket.length === 1 && nginx.socket[0] === sock,
      `nginx.conf upstream ${nginx.socket} vs visits-serve's socket ${sock}`);
    expect(p, serveMode === "0660",
      `socket mode ${serveMode} in fcgi/visits-serve, not 0660`);
    const dir = sock ? path.posix.dirname(sock) : undefined;
    const vol = (c) => (c?.volumeMounts ?? []).find((m) => m.mountPath === dir);
    const a = vol(prog), b = vol(web);
    expect(p, a && b && a.name === b.name,
      `socket dir ${dir}: ${a?.name} in the program, ${b?.name} in nginx`);
    const v = (ps.volumes ?? []).find((x) => x.name === a?.name);
    expect(p, v?.emptyDir, `volume ${a?.name} is not an emptyDir`);
    return p;
  });

  t("nginx: listen port = containerPort http = every probe port; " +
    "pid and temp files on a writable emptyDir", () => {
    const p = [];
    const port = (web?.ports ?? []).find((x) => x.name === "http");
    expect(p, nginx.listen.length === 1 &&
      String(port?.containerPort) === nginx.listen[0],
      `nginx.conf listen ${nginx.listen}, containerPort ${port?.containerPort}`);
    for (const c of containers)
      for (const [k, pr] of probes(c)) {
        if (!pr.httpGet) continue;
        const pp = pr.httpGet.port;
        expect(p, pp === port?.containerPort ||
          (c === web && pp === "http"),
          `${c.name} ${k} port ${pp}`);
      }
    for (const f of [nginx.pid, ...nginx.temp]) {
      expect(p, f, "nginx.conf: a pid or temp path is missing");
      if (!f) continue;
      const m = (web?.volumeMounts ?? []).find(
        (x) => f.startsWith(x.mountPath.replace(/\/?$/, "/")));
      const v = (ps.volumes ?? []).find((x) => x.name === m?.name);
      expect(p, m && v?.emptyDir && !m.readOnly,
        `${f} is not on a writable emptyDir of nginx`);
    }
    return p;
  });

  t("program defaults (visits-fcgi --help) agree with the manifest, " +
    "which sets only what differs", () => {
    const p = [];
    expect(p, help.includes("Usage:"), "no --help output");
    const dataDir = programDefault("VISITS_DATA_DIR");
    const env = Object.fromEntries(
      (prog?.env ?? []).map((e) => [e.name, e.value]));
    for (const [k, v] of Object.entries(env))
      expect(p, programDefault(k) !== v,
        `env ${k}=${v} repeats the program's default`);
    const effective = env.VISITS_DATA_DIR ?? dataDir;
    expect(p, dataDir === "/data", `default data dir ${dataDir}`);
    const m = (prog?.volumeMounts ?? []).find((v) => v.name === "data");
    expect(p, effective === m?.mountPath,
      `data dir ${effective}, volume at ${m?.mountPath}`);
    const tz = programDefault("VISITS_TIMEZONE");
    expect(p, (env.VISITS_TIMEZONE ?? tz) === "Europe/Moscow",
      `time zone ${env.VISITS_TIMEZONE ?? tz}`);
    return p;
  });

  t("probes: startup and liveness of the program ask it on its socket " +
    "(visits-serve --check), readiness goes through nginx to /readyz, " +
    "nginx's liveness is its own; no probe on a counting path", () => {
    const p = [];
    const kinds = (c) => probes(c ?? {}).map(([k]) => k).sort().join(",");
    expect(p, kinds(prog) === "livenessProbe,readinessProbe,startupProbe",
      `program probes: ${kinds(prog)}`);
    for (const k of ["startupProbe", "livenessProbe"])
      expect(p, isCheck(prog?.[k]),
        `program ${k} is not visits-serve --check: ${JSON.stringify(
          prog?.[k]?.exec?.command ?? prog?.[k]?.httpGet)}`);
    expect(p, prog?.readinessProbe?.httpGet?.path === "/readyz",
      `program readiness ${prog?.readinessProbe?.httpGet?.path}`);
    expect(p, web?.livenessProbe?.httpGet?.path === "/nginx-healthz",
      `nginx liveness ${web?.livenessProbe?.httpGet?.path}`);
    expect(p, nginx.exact.includes("/nginx-healthz"),
      "nginx.conf has no location = /nginx-healthz");
    for (const c of allContainers)
      for (const [k, pr] of probes(c)) {
        if (pr.exec) {
          expect(p, isCheck(pr), `${c.name} ${k} runs ${pr.exec.command}`);
          expect(p, (pr.timeoutSeconds ?? 1) * 1000 > checkTimeoutMs(),
            `${c.name} ${k}: timeoutSeconds ${pr.timeoutSeconds}, the ` +
            `check may take ${checkTimeoutMs()} ms`);
          continue;
        }
        const pth = pr.httpGet?.path?.split("?")[0];
        expect(p, pr.httpGet, `${c.name} ${k} is neither exec nor httpGet`);
        expect(p, NON_COUNTING.has(pth),
          `${c.name} ${k} on ${pr.httpGet?.path}: not a non-counting path`);
      }
    return p;
  });

  t("Pod Security Standard restricted", () => {
    const p = [];
    const psc = ps.securityContext ?? {};
    for (const f of ["hostNetwork", "hostPID", "hostIPC", "hostUsers"])
      expect(p, !ps[f] || (f === "hostUsers"), `${f} set`);
    expect(p, !psc.sysctls?.length, "sysctls set");
    for (const v of ps.volumes ?? []) {
      const type = Object.keys(v).find((k) => k !== "name");
      expect(p, RESTRICTED_VOLUMES.includes(type),
        `volume ${v.name} of type ${type}`);
    }
    const podSeccomp = psc.seccompProfile?.type;
    for (const c of allContainers) {
      const sc = c.securityContext ?? {};
      const who = `container ${c.name}`;
      expect(p, sc.allowPrivilegeEscalation === false,
        `${who}: allowPrivilegeEscalation is not false`);
      expect(p, !sc.privileged, `${who}: privileged`);
      expect(p, (sc.capabilities?.drop ?? []).includes("ALL"),
        `${who}: capabilities not dropped (ALL)`);
      const add = sc.capabilities?.add ?? [];
      expect(p, add.every((x) => x === "NET_BIND_SERVICE"),
        `${who}: adds capabilities ${add}`);
      expect(p, (sc.runAsNonRoot ?? psc.runAsNonRoot) === true,
        `${who}: runAsNonRoot not true`);
      const uid = sc.runAsUser ?? psc.runAsUser;
      expect(p, uid === undefined || uid !== 0, `${who}: runAsUser 0`);
      const seccomp = sc.seccompProfile?.type ?? podSeccomp;
      expect(p, ["RuntimeDefault", "Localhost"].includes(seccomp),
        `${who}: seccompProfile ${seccomp}`);
      for (const port of c.ports ?? [])
        expect(p, !port.hostPort, `${who}: hostPort ${port.hostPort}`);
      expect(p, !sc.procMount || sc.procMount === "Default",
        `${who}: procMount ${sc.procMount}`);
    }
    return p;
  });

  t("read-only root filesystems, numeric non-root user as in the images, " +
    "fsGroup", () => {
    const p = [];
    const psc = ps.securityContext ?? {};
    for (const c of allContainers)
      expect(p, c.securityContext?.readOnlyRootFilesystem === true,
        `${c.name}: readOnlyRootFilesystem is not true`);
    expect(p, Number.isInteger(psc.fsGroup) && psc.fsGroup > 0,
      `fsGroup ${psc.fsGroup}`);
    for (const [img, c] of [[fcgiImage, prog], [nginxImage, web]]) {
      const [u, g] = (img.user ?? "").split(":");
      expect(p, /^[1-9][0-9]*$/.test(u ?? ""),
        `image of ${c?.name}: USER ${img.user} is not a numeric non-root uid`);
      const uid = c?.securityContext?.runAsUser ?? psc.runAsUser;
      const gid = c?.securityContext?.runAsGroup ?? psc.runAsGroup;
      expect(p, uid === undefined || String(uid) === u,
        `${c?.name}: runAsUser ${uid}, image USER ${img.user}`);
      expect(p, gid === undefined || g === undefined || String(gid) === g,
        `${c?.name}: runAsGroup ${gid}, image USER ${img.user}`);
    }
    // nginx must be able to connect to the 0660 socket: same uid, same
    // group, or the socket's group (fsGroup on the emptyDir) among its
    // groups.
    const ids = (c) => [c?.securityContext?.runAsUser ?? psc.runAsUser,
      c?.securityContext?.runAsGroup ?? psc.runAsGroup];
    const [pu, pg] = ids(prog), [nu, ng] = ids(web);
    expect(p, pu === nu || pg === ng || psc.fsGroup !== undefined,
      "nginx cannot reach the program's 0660 socket");
    return p;
  });

  t("requests and limits for CPU and memory on every container", () => {
    const p = [];
    for (const c of allContainers)
      for (const k of ["requests", "limits"])
        for (const r of ["cpu", "memory"])
          expect(p, c.resources?.[k]?.[r] !== undefined,
            `${c.name}: no ${k}.${r}`);
    return p;
  });

  t("graceful drain: grace period, preStop hooks, nginx stops with SIGQUIT",
    () => {
      const p = [];
      const grace = ps.terminationGracePeriodSeconds;
      expect(p, Number.isInteger(grace) && grace >= 15 && grace <= 120,
        `terminationGracePeriodSeconds ${grace}`);
      expect(p, /^SIGQUIT$/i.test(nginxImage.stopsignal ?? ""),
        `nginx/Containerfile STOPSIGNAL ${nginxImage.stopsignal}`);
      for (const c of [prog, web])
        expect(p, c?.lifecycle?.preStop, `${c?.name}: no preStop hook`);
      // nginx leaves a mark, sleeps, then drains (at most
      // worker_shutdown_timeout).  The program waits a little for the mark:
      // when it comes, nginx is stopping too (the pod is deleted) and the
      // program waits until nginx's pid file is gone, bounded: the wait
      // must cover nginx's drain and end well inside the grace period.
      // When no mark comes, the program alone is killed (a failed probe)
      // and must stop soon, not wait for an nginx that keeps running.
      const cmd = (c) => (c?.lifecycle?.preStop?.exec?.command ?? []).join(" ");
      const sleep = Number((cmd(web).match(/sleep (\d+)/) ?? [])[1] ?? NaN);
      expect(p, sleep >= 1 && sleep <= 15, `nginx preStop sleeps ${sleep}`);
      const drain = Number((nginxDirective("worker_shutdown_timeout")[0] ?? "")
        .replace(/s$/, ""));
      expect(p, drain > 0, "nginx.conf sets no worker_shutdown_timeout (s)");
      // A path of nginx's as the program sees it (read-only), if it does.
      const inProg = (f) => {
        const m = (web?.volumeMounts ?? []).find(
          (x) => f?.startsWith(x.mountPath.replace(/\/?$/, "/")));
        const seen = (prog?.volumeMounts ?? []).find(
          (x) => x.name === m?.name && x.readOnly === true);
        return seen && seen.mountPath + f.slice(m.mountPath.length);
      };
      const mark = (cmd(web).match(/touch (\S+?);/) ?? [])[1];
      expect(p, mark && cmd(web).includes(`rm -f ${mark}`),
        `nginx preStop leaves no mark (touch ...; ... rm -f ...): ${cmd(web)}`);
      const markInProg = inProg(mark), pidInProg = inProg(nginx.pid);
      expect(p, markInProg && cmd(prog).includes(`! -e ${markInProg}`) &&
        cmd(prog).includes(`-e ${markInProg} ] || exit 0`),
        `program preStop does not wait for nginx's mark ${markInProg}: ` +
        cmd(prog));
      expect(p, pidInProg && cmd(prog).includes(`-e ${pidInProg}`),
        `program preStop does not wait for ${pidInProg}: ${cmd(prog)}`);
      const rounds = [...cmd(prog).matchAll(/-lt (\d+)/g)].map((m) =>
        Number(m[1]));
      const step = Number((cmd(prog).match(/sleep ([\d.]+)/) ?? [])[1] ?? NaN);
      const markWait = rounds[0] * step, wait = rounds[1] * step;
      expect(p, markWait >= 0.5 && markWait <= 3,
        `program waits ${markWait} s for the mark: a probe kill must ` +
        "restart it within a few seconds");
      expect(p, wait >= sleep + drain,
        `program waits ${wait} s, nginx may take ${sleep} + ${drain} s`);
      expect(p, wait + 2 <= grace,
        `program waits ${wait} s, grace period ${grace} s`);
      return p;
    });

  t("Services: visits 80 -> named port http (NodePort on minikube, for " +
    "minikube service on every driver; else ClusterIP), visits-headless " +
    "clusterIP None, both selecting the pods", () => {
    const p = [];
    expect(p, svc && headless, "Service visits or visits-headless missing");
    if (!svc || !headless) return p;
    const type = svc.spec.type ?? "ClusterIP";
    expect(p, type === (name === "minikube" ? "NodePort" : "ClusterIP"),
      `visits type ${type}`);
    const port = (svc.spec.ports ?? []).find((x) => x.port === 80);
    expect(p, port?.targetPort === "http",
      `visits port 80 -> ${port?.targetPort}`);
    expect(p, headless.spec.clusterIP === "None",
      `visits-headless clusterIP ${headless.spec.clusterIP}`);
    for (const s of [svc, headless]) {
      expect(p, matches(s.spec.selector, pod?.metadata?.labels),
        `${s.metadata.name} selector does not select the pods`);
      expect(p, JSON.stringify(s.spec.selector) ===
        JSON.stringify(sts?.spec?.selector?.matchLabels),
        `${s.metadata.name} selector differs from the StatefulSet's`);
      for (const sp of s.spec.ports ?? [])
        expect(p, sp.targetPort === "http" ||
          sp.targetPort === web?.ports?.[0]?.containerPort,
          `${s.metadata.name} port ${sp.port} -> ${sp.targetPort}`);
    }
    return p;
  });

  t("GET /cluster: VISITS_PEERS is the StatefulSet's headless Service; a " +
    "NetworkPolicy lets the pods reach each other's http port", () => {
    const p = [];
    const env = Object.fromEntries(
      (prog?.env ?? []).map((e) => [e.name, e.value]));
    expect(p, env.VISITS_PEERS === sts?.spec?.serviceName,
      `VISITS_PEERS ${env.VISITS_PEERS}, serviceName ` +
      `${sts?.spec?.serviceName}`);
    for (const np of objs.filter((o) => o.kind === "NetworkPolicy")) {
      if (!matches(np.spec.podSelector?.matchLabels, pod?.metadata?.labels))
        continue;
      expect(p, (np.spec.egress ?? []).some((r) =>
        (r.to ?? []).some((to) => to.podSelector &&
          matches(to.podSelector.matchLabels, pod?.metadata?.labels)) &&
        (r.ports ?? []).some((x) => x.port === "http" ||
          x.port === web?.ports?.[0]?.containerPort)),
        `NetworkPolicy ${np.metadata.name}: no egress to the pods' http`);
    }
    return p;
  });

  t("a ServiceMonitor, if any, carries the release label that " +
    "kube-prometheus-stack's Prometheus selects", () => {
    const p = [];
    for (const o of objs.filter((x) => x.kind === "ServiceMonitor"))
      expect(p, o.metadata?.labels?.release,
        `ServiceMonitor ${o.metadata?.name}: no label release`);
    return p;
  });

  t("PodDisruptionBudget for the pods", () => {
    const p = [];
    expect(p, pdb, "no PodDisruptionBudget");
    if (!pdb) return p;
    expect(p, matches(pdb.spec.selector?.matchLabels, pod?.metadata?.labels),
      "PDB selector does not select the pods");
    expect(p, pdb.spec.maxUnavailable !== undefined ||
      pdb.spec.minAvailable !== undefined, "PDB sets no budget");
    return p;
  });

  t("app.kubernetes.io labels; selector on stable labels only", () => {
    const p = [];
    for (const o of objs)
      for (const l of RECOMMENDED)
        expect(p, o.metadata?.labels?.[l],
          `${o.kind} ${o.metadata?.name}: no label ${l}`);
    for (const l of [...RECOMMENDED, "app.kubernetes.io/version"])
      expect(p, pod?.metadata?.labels?.[l], `pod template: no label ${l}`);
    const sel = Object.keys(sts?.spec?.selector?.matchLabels ?? {}).sort();
    expect(p, JSON.stringify(sel) ===
      '["app.kubernetes.io/instance","app.kubernetes.io/name"]',
      `StatefulSet selector on ${sel}`);
    for (const v of sts?.spec?.volumeClaimTemplates ?? [])
      expect(p, !v.metadata?.labels?.["app.kubernetes.io/version"],
        "volumeClaimTemplates carry the version (immutable: breaks upgrades)");
    return p;
  });

  t("images: pinned tags (no latest, no untagged), version label matches",
    () => {
      const p = [];
      const version = pod?.metadata?.labels?.["app.kubernetes.io/version"];
      for (const c of allContainers) {
        const m = c.image.match(/^(.*?)(?::([\w][\w.-]*))?(?:@(sha256:.+))?$/);
        const tag = m?.[2];
        expect(p, tag || m?.[3], `${c.name}: image ${c.image} has no tag`);
        expect(p, tag !== "latest", `${c.name}: image ${c.image} is latest`);
        expect(p, !m?.[3] ? tag === version : true,
          `${c.name}: tag ${tag}, app.kubernetes.io/version ${version}`);
        expect(p, c.imagePullPolicy !== "Always" || m?.[3],
          `${c.name}: imagePullPolicy Always with a tag`);
      }
      return p;
    });
}

// --- the Containerfiles themselves (once) --------------------------------------

check("Containerfiles: built on Debian bookworm, the runtime FROM scratch, " +
  "numeric non-root USER, the program through visits-serve, nginx.conf " +
  "copied unchanged", () => {
  const p = [];
  for (const [f, img] of [["fcgi", fcgiImage], ["nginx", nginxImage]]) {
    expect(p, img.froms.length >= 2, `${f}: ${img.froms.length} stage(s)`);
    for (const from of img.froms)
      expect(p, /^(docker\.io\/(library\/)?)?debian:bookworm/.test(from) ||
        from === "scratch" || img.stages.includes(from),
        `${f}: FROM ${from} is neither Debian bookworm, scratch nor a stage`);
    expect(p, /^[1-9][0-9]*(:[0-9]+)?$/.test(img.user ?? ""),
      `${f}: USER ${img.user}`);
  }
  expect(p, JSON.stringify(fcgiImage.cmd) === '["visits-serve"]',
    `fcgi CMD ${JSON.stringify(fcgiImage.cmd)}`);
  expect(p, nginxImage.copies.some(
    (c) => /^nginx\/nginx\.conf \S*\/etc\/nginx\/nginx\.conf$/.test(c)),
    "nginx/Containerfile does not COPY nginx/nginx.conf to .../etc/nginx/nginx.conf");
  return p;
});
