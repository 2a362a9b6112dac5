#!/usr/bin/env python3
"""tests/kube/policy.py: what the manifests promise that neither the API
server nor the pods running on the cluster show.

  policy.py --top DIR --help HELP.txt NAME=objects.json ...

Each objects.json is what `kubectl apply --dry-run=server -o json` printed
for one rendered overlay (a List, with the server's defaults filled in);
NAME says which, as OVERLAY or OVERLAY/LABEL (a changed copy of it):
"minikube" is the overlay the cluster runs (the README's walkthrough), and
every other render is compared with the render named minikube.  HELP.txt is
`visits-fcgi --help`.  Prints one TAP line per check and render ("ok - " or
"not ok - ", the problems as "#" lines after it); exit status 1 if any
check failed.  Python's standard library only.

What is checked elsewhere, and so not here:
  - Schemas, types, unknown fields: the API server, asked with
    --validate=strict (tests/kube/manifests.sh proves it refuses).
  - Pod Security "restricted" (non-root, no privilege escalation, all
    capabilities dropped, RuntimeDefault seccomp, no host namespaces,
    ports or paths): the API server's PodSecurity admission, which warns
    about every render's pod template in manifests.sh's namespace and
    admits the real pods in the cluster suite.
  - What running the minikube overlay shows (the cluster suite): 3
    replicas and their DNS names through serviceName visits-headless; the
    1Gi ReadWriteOnce claims of class standard, mounted at /data where the
    program's default data directory is (`kubectl exec visits-0 -- cat
    /data/visits`); two containers, the program the default one; nginx's
    listen port, socket path and pid and temp directories agreeing with
    nginx.conf and visits-serve (the pods get ready through nginx); the
    Services' ports, selectors and clusterIP None; VISITS_PEERS naming
    the headless Service (/cluster lists every pod); readiness on /readyz
    (a read-only volume takes the pod out of the EndpointSlice); nginx's
    own liveness (a dead program restarts the program alone, within
    seconds, so its preStop hook does not wait for nginx then); the
    preStop hooks draining nginx before the program (a pod deleted under
    load: no 5xx, exit 0 inside the grace period); the
    PodDisruptionBudget (kubectl drain).
  - The other renders: "differs from minikube only where an overlay
    should" below carries all that over to them.
  - The images (USER, STOPSIGNAL, CMD, nginx.conf copied unchanged,
    FROM bookworm and scratch): tests/pod, on the images it builds.

What stays is what a running pod would not reveal: choices (parallel
start, no command line, labels, pinned tags, requests and limits,
read-only roots, fsGroup), the worst cases the timings of one run do not
reach, the settings the program silently ignores or that repeat its
defaults, and the parts this cluster does not run (NetworkPolicy: its
network plugin enforces none; ServiceMonitor: no Prometheus).
"""
import json
import re
import sys

# Paths whose GET never counts a visit and that a probe may ask.
NON_COUNTING = {"/healthz", "/readyz", "/nginx-healthz"}
RECOMMENDED = [
    "app.kubernetes.io/name", "app.kubernetes.io/instance",
    "app.kubernetes.io/component", "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
]
VERSION = "app.kubernetes.io/version"
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
# The liveness and startup command: the program asked on its own socket.
CHECK = ["visits-serve", "--check"]
# The time the program's preStop hook must leave before the grace period
# ends, for SIGTERM: finish the requests, sync, exit.
STOP_MARGIN_S = 2


def fail_usage(msg):
    sys.stderr.write(f"policy.py: {msg}\n")
    sys.exit(2)


# --- the other parts: the program, visits-serve, nginx.conf, the images ---

def read(top, rel):
    with open(f"{top}/{rel}", encoding="utf-8") as f:
        return f.read()


def program_settings(help_text):
    """{VARIABLE: default or None} from `visits-fcgi --help`.

    Each setting's variable is in brackets: "[VISITS_DATA_DIR, default
    /data]", "[VISITS_PEERS]", "[VISITS_DURABLE=1, the default]".  Only
    that much of the layout is relied on: the words between the brackets
    may be wrapped anywhere.
    """
    flat = " ".join(help_text.split())
    found = {}
    for name, rest in re.findall(r"\[(VISITS_[A-Z0-9_]+)([^\]]*)\]", flat):
        m = (re.match(r",? *default ([^,\]]+)", rest)
             or re.match(r"=([^,\]]+), the default", rest))
        if found.get(name) is None:
            found[name] = m.group(1).strip() if m else None
    return found


def serve_settings(serve_text):
    """{VARIABLE: default} of fcgi/visits-serve: its ${VISITS_X:-default}."""
    return dict(re.findall(r"\$\{(VISITS_[A-Z0-9_]+):-([^}]*)\}",
                           serve_text))


def check_timeout_s(help_text):
    """How long `visits-fcgi --check` may wait ("a 200 within N s")."""
    m = re.search(r"within (\d+) s\b", " ".join(help_text.split()))
    return int(m.group(1)) if m else None


def nginx_seconds(conf, directive):
    """A time directive of nginx.conf in seconds ("20s", "20"), or None."""
    for line in conf.splitlines():
        m = re.match(rf"\s*{directive}\s+(\d+)s?\s*;", line.split("#")[0])
        if m:
            return int(m.group(1))
    return None


def image_user(containerfile):
    """USER of a Containerfile's last stage, e.g. "10001:10001"."""
    text = containerfile.replace("\\\n", " ")
    user = None
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0].upper() == "FROM":
            user = None
        elif words[0].upper() == "USER" and len(words) > 1:
            user = words[1]
    return user


# --- the rendered objects ---------------------------------------------------

def load(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    return doc.get("items", [doc]) if doc.get("kind") == "List" else [doc]


def find(objs, kind, name=None):
    return [o for o in objs if o.get("kind") == kind and
            (name is None or o["metadata"].get("name") == name)]


def matches(selector, labels):
    return all((labels or {}).get(k) == v for k, v in (selector or {}).items())


def probes(c):
    return [(k, c[k]) for k in ("startupProbe", "livenessProbe",
                                "readinessProbe") if k in c]


class Render:
    """One render's objects, and its pods' two containers."""

    def __init__(self, name, objs):
        self.name = name
        self.overlay = name.split("/")[0]
        self.objs = objs
        sts = find(objs, "StatefulSet", "visits")
        self.sts = sts[0] if sts else None
        tpl = self.sts["spec"]["template"] if self.sts else {}
        self.labels = tpl.get("metadata", {}).get("labels", {})
        self.pod = tpl.get("spec", {})
        self.containers = self.pod.get("containers", [])
        self.all_containers = self.pod.get("initContainers", []) + \
            self.containers
        default = tpl.get("metadata", {}).get("annotations", {}).get(
            DEFAULT_CONTAINER)
        self.prog = next((c for c in self.containers
                          if c["name"] == default), None)
        self.web = next((c for c in self.containers if any(
            p.get("name") == "http" for p in c.get("ports", []))), None)


# --- differences from the minikube overlay -----------------------------------

# Set by the server for the request, not by the manifests.
REQUEST_FIELDS = ["uid", "creationTimestamp", "resourceVersion",
                  "generation", "managedFields", "namespace"]


def comparable(obj):
    """obj without what changes per request, and with what an overlay may
    change left out: the images' registry (their tags stay), the storage
    class, the spread over nodes and zones, the Service's type with what
    the server derives from it, and labels added (components label what
    they select)."""
    o = json.loads(json.dumps(obj))
    o.pop("status", None)
    meta = o["metadata"]
    for f in REQUEST_FIELDS:
        meta.pop(f, None)
    meta.get("annotations", {}).pop(
        "kubectl.kubernetes.io/last-applied-configuration", None)
    if not meta.get("annotations"):
        meta.pop("annotations", None)
    meta.pop("labels", None)
    spec = o.get("spec", {})
    if o["kind"] == "StatefulSet":
        pod = spec["template"]["spec"]
        pod.pop("topologySpreadConstraints", None)
        for c in pod.get("initContainers", []) + pod.get("containers", []):
            c["image"] = c["image"].rsplit("/", 1)[-1]
        for v in spec.get("volumeClaimTemplates", []):
            v["spec"].pop("storageClassName", None)
            v.pop("status", None)
    if o["kind"] == "Service" and spec.get("clusterIP") != "None":
        for f in ("type", "clusterIP", "clusterIPs", "externalTrafficPolicy"):
            spec.pop(f, None)
        for p in spec.get("ports", []):
            p.pop("nodePort", None)
    return o


def differences(a, b, path=""):
    """Paths where a and b differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += differences(a.get(k), b.get(k), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += differences(x, y, f"{path}[{i}]")
        return out
    def show(v):
        return "absent" if v is None else json.dumps(v)
    return [] if a == b else [f"{path[1:]}: {show(b)} in minikube, "
                              f"{show(a)} here"]


def check_like_minikube(r, ref, p):
    if ref is None:
        p.append("no render named minikube to compare with")
        return
    ref_objs = {(o["kind"], o["metadata"]["name"]): o for o in ref.objs}
    here = {(o["kind"], o["metadata"]["name"]): o for o in r.objs}
    for key, o in ref_objs.items():
        if key not in here:
            p.append(f"{key[0]} {key[1]} is missing")
            continue
        for d in differences(comparable(here[key]), comparable(o)):
            p.append(f"{key[0]} {key[1]}: {d}")
        have = here[key]["metadata"].get("labels", {})
        for k, v in o["metadata"].get("labels", {}).items():
            if have.get(k) != v:
                p.append(f"{key[0]} {key[1]}: label {k} {json.dumps(v)} "
                         f"in minikube, {json.dumps(have.get(k, 'absent'))} "
                         "here")
    # Objects of their own: what the components add, checked below.
    for kind, name in here:
        if (kind, name) not in ref_objs and \
                kind not in ("NetworkPolicy", "ServiceMonitor"):
            p.append(f"{kind} {name} is not in minikube's render")


# --- the checks -----------------------------------------------------------------

class Checks:
    def __init__(self, top, help_text):
        self.failed = 0
        self.settings = program_settings(help_text)
        self.check_s = check_timeout_s(help_text)
        serve = read(top, "fcgi/visits-serve")
        self.serve_settings = serve_settings(serve)
        self.drain_s = nginx_seconds(read(top, "nginx/nginx.conf"),
                                     "worker_shutdown_timeout")
        self.users = {"fcgi": image_user(read(top, "fcgi/Containerfile")),
                      "nginx": image_user(read(top, "nginx/Containerfile"))}

    def report(self, desc, problems):
        if problems:
            self.failed += 1
        print(f"{'not ok' if problems else 'ok'} - {desc}")
        for line in problems:
            print(f"#   {line}")
        sys.stdout.flush()

    def run(self, r, ref):
        checks = [
            ("differs from minikube only where an overlay should (images' "
             "registry, storage class, spread, Service type; components: "
             "their objects and labels)", self.like_minikube),
            ("the pods start in parallel", self.parallel),
            ("only the program's container mounts the counter volume",
             self.data_mount),
            ("the program runs its image's CMD (visits-serve): no command "
             "line", self.no_command),
            ("the program's environment: settings it documents "
             "(visits-fcgi --help, visits-serve), none repeating a "
             "default; time zone Europe/Moscow", self.environment),
            ("probes: every HTTP probe on a non-counting path; the program's "
             "startup and liveness are visits-serve --check, with a timeout "
             "above the check's own", self.probes),
            ("read-only root filesystems, fsGroup, the pods' user and group "
             "those of the images", self.users_and_roots),
            ("requests and limits for CPU and memory on every container",
             self.resources),
            ("the longest drains fit: the program's preStop hook outlasts "
             "nginx's sleep and worker_shutdown_timeout and ends "
             f"{STOP_MARGIN_S} s inside the grace period; killed alone for "
             "a failed probe, it ends as far inside the probe's",
             self.drain),
            ("Service visits: NodePort on minikube (for minikube service), "
             "else ClusterIP", self.service_type),
            ("a NetworkPolicy lets in HTTP and lets out DNS and the other "
             "pods' HTTP (GET /cluster)", self.network_policy),
            ("a ServiceMonitor carries the release label of "
             "kube-prometheus-stack and scrapes visits-headless's port http "
             "at /metrics", self.service_monitor),
            ("app.kubernetes.io labels; selector on stable labels only",
             self.labels),
            ("images: pinned tags (no latest, no untagged), the version "
             "label's", self.images),
        ]
        kinds = {o["kind"] for o in r.objs}
        for desc, fn in checks:
            if fn == self.like_minikube and r.overlay == "minikube":
                continue
            # The components' objects are checked where they are.
            if (fn == self.network_policy and "NetworkPolicy" not in kinds or
                    fn == self.service_monitor and
                    "ServiceMonitor" not in kinds):
                continue
            p = []
            if r.sts is None:
                p.append("no StatefulSet visits")
            else:
                try:
                    fn(r, ref, p)
                except (KeyError, TypeError, ValueError, IndexError) as e:
                    p.append(f"{type(e).__name__}: {e}")
            self.report(f"{r.name}: {desc}", p)

    def like_minikube(self, r, ref, p):
        check_like_minikube(r, ref, p)

    def parallel(self, r, ref, p):
        pmp = r.sts["spec"].get("podManagementPolicy")
        if pmp != "Parallel":
            p.append(f"podManagementPolicy {pmp}")

    def data_mount(self, r, ref, p):
        if r.prog is None:
            p.append("the default container names no container")
        for c in r.all_containers:
            if c is not r.prog and any(m["name"] == "data" for m in
                                       c.get("volumeMounts", [])):
                p.append(f"{c['name']} mounts the counter volume too")

    def no_command(self, r, ref, p):
        c = r.prog or {}
        if c.get("command") or c.get("args"):
            p.append("the program sets a command line: " +
                     json.dumps(c.get("command", []) + c.get("args", [])))

    def environment(self, r, ref, p):
        if not self.settings:
            p.append("visits-fcgi --help names no [VISITS_...] variable")
        known = dict(self.settings, **self.serve_settings)
        env = {e["name"]: e.get("value") for e in
               (r.prog or {}).get("env", [])}
        for k, v in env.items():
            if k not in known:
                p.append(f"env {k} is not a documented setting of "
                         "visits-fcgi or visits-serve: it would be ignored")
            elif v is not None and v == known[k]:
                p.append(f"env {k}={v} repeats the program's default")
        zone = env.get("VISITS_TIMEZONE", self.settings.get(
            "VISITS_TIMEZONE"))
        if zone != "Europe/Moscow":
            p.append(f"time zone {zone}")

    def probes(self, r, ref, p):
        prog = r.prog or {}
        kinds = sorted(k for k, _ in probes(prog))
        if kinds != ["livenessProbe", "readinessProbe", "startupProbe"]:
            p.append(f"program probes: {kinds}")
        for k in ("startupProbe", "livenessProbe"):
            cmd = prog.get(k, {}).get("exec", {}).get("command")
            if cmd != CHECK:
                p.append(f"program {k} is not visits-serve --check: "
                         f"{json.dumps(cmd or prog.get(k))}")
        if self.check_s is None:
            p.append("visits-fcgi --help does not say how long --check "
                     "waits (\"within N s\")")
        for c in r.all_containers:
            for k, pr in probes(c):
                if "exec" in pr:
                    if pr["exec"].get("command") != CHECK:
                        p.append(f"{c['name']} {k} runs "
                                 f"{pr['exec'].get('command')}")
                    t = pr.get("timeoutSeconds", 1)
                    if self.check_s is not None and t <= self.check_s:
                        p.append(f"{c['name']} {k}: timeoutSeconds {t}, "
                                 f"the check may take {self.check_s} s")
                elif "httpGet" in pr:
                    path = pr["httpGet"].get("path", "/").split("?")[0]
                    if path not in NON_COUNTING:
                        p.append(f"{c['name']} {k} on {path}: not a "
                                 "non-counting path")
                else:
                    p.append(f"{c['name']} {k} is neither exec nor httpGet")

    def users_and_roots(self, r, ref, p):
        psc = r.pod.get("securityContext", {})
        for c in r.all_containers:
            if c.get("securityContext", {}).get(
                    "readOnlyRootFilesystem") is not True:
                p.append(f"{c['name']}: readOnlyRootFilesystem is not true")
        fs = psc.get("fsGroup")
        if not isinstance(fs, int) or fs <= 0:
            p.append(f"fsGroup {fs}: the non-root program could not "
                     "write a volume that its group does not own")
        for image, c in (("fcgi", r.prog), ("nginx", r.web)):
            if c is None:
                p.append(f"no container for the {image} image")
                continue
            user = self.users[image] or ""
            uid, _, gid = user.partition(":")
            sc = c.get("securityContext", {})
            run_uid = sc.get("runAsUser", psc.get("runAsUser"))
            run_gid = sc.get("runAsGroup", psc.get("runAsGroup"))
            if run_uid is not None and str(run_uid) != uid:
                p.append(f"{c['name']}: runAsUser {run_uid}, image USER "
                         f"{user} ({image}/Containerfile)")
            if run_gid is not None and gid and str(run_gid) != gid:
                p.append(f"{c['name']}: runAsGroup {run_gid}, image USER "
                         f"{user} ({image}/Containerfile)")

    def resources(self, r, ref, p):
        for c in r.all_containers:
            for k in ("requests", "limits"):
                for res in ("cpu", "memory"):
                    if res not in c.get("resources", {}).get(k, {}):
                        p.append(f"{c['name']}: no {k}.{res}")

    def drain(self, r, ref, p):
        # nginx's hook sleeps, then nginx drains for at most
        # worker_shutdown_timeout.  The program's hook waits for nginx's
        # mark, then for its pid file, one counter i bounding both loops
        # ("[ $i -lt N ]", "sleep STEP"): without a mark (the program
        # alone killed) it waits the first bound times the step; at most,
        # the last bound times the step.
        def hook(c):
            return " ".join((c or {}).get("lifecycle", {}).get(
                "preStop", {}).get("exec", {}).get("command", []))
        grace = r.pod.get("terminationGracePeriodSeconds", 30)
        m = re.search(r"\bsleep (\d+)\b", hook(r.web))
        sleep = int(m.group(1)) if m else None
        bounds = [int(n) for n in re.findall(r"-lt (\d+)", hook(r.prog))]
        m = re.search(r"\bsleep ([\d.]+)", hook(r.prog))
        step = float(m.group(1)) if m else None
        if sleep is None:
            p.append(f"nginx's preStop hook does not sleep: {hook(r.web)}")
        if self.drain_s is None:
            p.append("nginx.conf sets no worker_shutdown_timeout")
        if not bounds or step is None:
            p.append("the program's preStop hook has no bounded wait "
                     f"([ $i -lt N ] ... sleep S): {hook(r.prog)}")
        if None in (sleep, self.drain_s, step) or not bounds:
            return
        wait = bounds[-1] * step
        alone = bounds[0] * step
        # A failed startup or liveness probe kills with its own grace
        # period, if it sets one (readiness kills nothing).
        probe_grace = min((pr.get("terminationGracePeriodSeconds", grace)
                           for k, pr in probes(r.prog or {})
                           if k != "readinessProbe"), default=grace)
        if alone + STOP_MARGIN_S > probe_grace:
            p.append(f"killed for a failed probe, the program waits "
                     f"{alone:g} s for nginx's mark, the probe's grace "
                     f"period is {probe_grace} s")
        if wait < sleep + self.drain_s:
            p.append(f"the program waits {wait:g} s, nginx may take "
                     f"{sleep} + {self.drain_s} s")
        if wait + STOP_MARGIN_S > grace:
            p.append(f"the program waits {wait:g} s, the grace period is "
                     f"{grace} s")

    def service_type(self, r, ref, p):
        svc = find(r.objs, "Service", "visits")
        want = "NodePort" if r.overlay == "minikube" else "ClusterIP"
        got = svc[0]["spec"].get("type", "ClusterIP") if svc else None
        if got != want:
            p.append(f"visits type {got}, not {want}")

    def network_policy(self, r, ref, p):
        def allows(rule, port):
            return any(x.get("port") in port for x in rule.get("ports", []))
        http = {"http"} | {x["containerPort"] for x in
                           (r.web or {}).get("ports", [])
                           if x.get("name") == "http"}
        for np in find(r.objs, "NetworkPolicy"):
            spec = np["spec"]
            if not matches(spec.get("podSelector", {}).get("matchLabels"),
                           r.labels):
                continue
            name = f"NetworkPolicy {np['metadata']['name']}"
            types = spec.get("policyTypes", [])
            if "Ingress" in types and not any(
                    allows(x, http) for x in spec.get("ingress", [])):
                p.append(f"{name}: no ingress to the pods' http")
            if "Egress" in types:
                egress = spec.get("egress", [])
                for proto in ("UDP", "TCP"):
                    if not any(any(x.get("port") == 53 and
                                   x.get("protocol", "TCP") == proto
                                   for x in e.get("ports", []))
                               for e in egress):
                        p.append(f"{name}: no egress to DNS ({proto} 53)")
                if not any(allows(e, http) and any(
                        matches(to.get("podSelector", {}).get(
                            "matchLabels"), r.labels)
                        for to in e.get("to", []) if "podSelector" in to)
                        for e in egress):
                    p.append(f"{name}: no egress to the pods' http")

    def service_monitor(self, r, ref, p):
        services = find(r.objs, "Service")
        for sm in find(r.objs, "ServiceMonitor"):
            name = f"ServiceMonitor {sm['metadata']['name']}"
            if not sm["metadata"].get("labels", {}).get("release"):
                p.append(f"{name}: no label release")
            sel = sm["spec"].get("selector", {}).get("matchLabels")
            chosen = [s["metadata"]["name"] for s in services
                      if matches(sel, s["metadata"].get("labels"))]
            # One Service: each pod scraped once.  The headless one lists
            # the pods ready or not.
            if chosen != ["visits-headless"]:
                p.append(f"{name} selects the Services {chosen}, not "
                         "visits-headless alone")
                continue
            ports = {x.get("name") for x in find(
                r.objs, "Service", "visits-headless")[0]["spec"]["ports"]}
            for e in sm["spec"].get("endpoints", []):
                if e.get("port") not in ports or e.get("port") != "http":
                    p.append(f"{name}: scrapes port {e.get('port')}, not "
                             "visits-headless's http")
                if e.get("path", "/metrics") != "/metrics":
                    p.append(f"{name}: scrapes {e.get('path')}")

    def labels(self, r, ref, p):
        for o in r.objs:
            have = o["metadata"].get("labels", {})
            for label in RECOMMENDED:
                if not have.get(label):
                    p.append(f"{o['kind']} {o['metadata']['name']}: no "
                             f"label {label}")
        for label in RECOMMENDED + [VERSION]:
            if not r.labels.get(label):
                p.append(f"pod template: no label {label}")
        keys = sorted(r.sts["spec"]["selector"].get("matchLabels", {}))
        if keys != ["app.kubernetes.io/instance", "app.kubernetes.io/name"]:
            p.append(f"StatefulSet selector on {keys}: it is immutable, "
                     "select on name and instance only")
        for v in r.sts["spec"].get("volumeClaimTemplates", []):
            if VERSION in v["metadata"].get("labels", {}):
                p.append("volumeClaimTemplates carry the version "
                         "(immutable: breaks upgrades)")

    def images(self, r, ref, p):
        version = r.labels.get(VERSION)
        for c in r.all_containers:
            m = re.match(r"^(.*?)(?::([\w][\w.-]*))?(?:@(sha256:.+))?$",
                         c["image"])
            tag, digest = m.group(2), m.group(3)
            if not tag and not digest:
                p.append(f"{c['name']}: image {c['image']} has no tag")
            if tag == "latest":
                p.append(f"{c['name']}: image {c['image']} is latest")
            if not digest and tag != version:
                p.append(f"{c['name']}: tag {tag}, {VERSION} {version}")
            if c.get("imagePullPolicy") == "Always" and not digest:
                p.append(f"{c['name']}: imagePullPolicy Always with a tag")


def main(argv):
    top = "."
    help_file = None
    renders = []
    args = iter(argv)
    for a in args:
        if a == "--top":
            top = next(args, None) or fail_usage("--top needs a directory")
        elif a == "--help":
            help_file = next(args, None) or fail_usage("--help needs a file")
        elif "=" in a:
            name, path = a.split("=", 1)
            renders.append(Render(name, load(path)))
        else:
            fail_usage(f"unexpected argument {a!r} (NAME=objects.json)")
    if help_file is None or not renders:
        fail_usage("usage: policy.py --top DIR --help HELP.txt "
                   "NAME=objects.json ...")
    with open(help_file, encoding="utf-8") as f:
        checks = Checks(top, f.read())
    ref = next((r for r in renders if r.name == "minikube"), None)
    for r in renders:
        checks.run(r, ref)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
