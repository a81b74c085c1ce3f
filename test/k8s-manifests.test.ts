// deploy/k8s: no cluster here, so this checks what the issue asks of the manifests structurally: the four
// services, probes and graceful termination on every long-running pod, an HPA for the streamer, backfill as
// a Job, the config in a ConfigMap that our own config loader accepts, and Prometheus scrape settings.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@certstream/config";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { repoRoot } from "./prometheus-bin.ts";

const dir = join(repoRoot, "deploy/k8s");

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are checked field by field below.
type K8sObject = any;

function load(): K8sObject[] {
  const kustomization = parseYaml(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as {
    resources: string[];
  };
  const objects: K8sObject[] = [];
  for (const file of kustomization.resources) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
      expect(doc.errors, `${file}: ${doc.errors.join("; ")}`).toEqual([]);
      const obj = doc.toJS();
      if (obj) objects.push({ ...obj, __file: file });
    }
  }
  return objects;
}

const objects = load();
const find = (kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata?.name === name);

describe("deploy/k8s", () => {
  it("lists every manifest file in the kustomization", () => {
    const listed = (
      parseYaml(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as { resources: string[] }
    ).resources;
    const files = readdirSync(dir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    expect([...listed].sort()).toEqual(files.sort());
  });

  it("every object has apiVersion, kind and a name", () => {
    for (const o of objects) {
      expect(o.apiVersion, o.__file).toBeTruthy();
      expect(o.kind, o.__file).toBeTruthy();
      expect(o.metadata?.name, o.__file).toBeTruthy();
    }
  });

  for (const [name, port] of [
    ["streamer", 8080],
    ["ingester", 8081],
    ["delta-sink", 8082],
    ["archive-search", 8084],
  ] as const) {
    it(`${name}: Deployment with probes, graceful termination, config and scrape annotations`, () => {
      const d = find("Deployment", name);
      expect(d, `Deployment ${name}`).toBeDefined();
      expect(d.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": name });
      expect(d.spec.template.metadata.labels["app.kubernetes.io/name"]).toBe(name);
      const pod = d.spec.template.spec;
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
      const c = pod.containers[0];
      expect(c.command.join(" ")).toBe(
        `node services/${name}/src/main.ts --config /etc/certstream/config.yaml`,
      );
      expect(c.ports[0].containerPort).toBe(port);
      expect(c.livenessProbe.httpGet.path).toBe("/health");
      expect(c.readinessProbe.httpGet.path).toBe("/health/ready");
      expect(c.lifecycle.preStop).toBeDefined();
      expect(c.volumeMounts.find((m: K8sObject) => m.name === "config").mountPath).toBe("/etc/certstream");
      expect(pod.volumes.find((v: K8sObject) => v.name === "config").configMap.name).toBe(
        "certstream-config",
      );
      expect(d.spec.template.metadata.annotations).toMatchObject({
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(port),
        "prometheus.io/path": "/metrics",
      });
      const svc = find("Service", name);
      expect(svc.spec.selector).toEqual({ "app.kubernetes.io/name": name });
    });
  }

  it("streamer has an HPA (scaling down slowly) and a PodDisruptionBudget", () => {
    const hpa = find("HorizontalPodAutoscaler", "streamer");
    expect(hpa.apiVersion).toBe("autoscaling/v2");
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "streamer" });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    expect(hpa.spec.metrics.some((m: K8sObject) => m.resource?.name === "cpu")).toBe(true);
    expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(300);
    expect(find("PodDisruptionBudget", "streamer").spec.minAvailable).toBe(1);
    // The streamer's own shutdown bound fits in the grace period after preStop.
    const pod = find("Deployment", "streamer").spec.template.spec;
    const cfg = parseYaml(find("ConfigMap", "certstream-config").data["config.yaml"]);
    expect(5 + cfg.streamer.shutdown_timeout_ms / 1000).toBeLessThan(pod.terminationGracePeriodSeconds);
  });

  it("backfill is a Job that does not restart in place and fails fast on bad config", () => {
    const job = find("Job", "backfill");
    expect(job.apiVersion).toBe("batch/v1");
    expect(job.spec.template.spec.restartPolicy).toBe("Never");
    expect(job.spec.podFailurePolicy.rules[0]).toMatchObject({
      action: "FailJob",
      onExitCodes: { values: [2] },
    });
    expect(job.spec.template.spec.containers[0].command[1]).toBe("services/backfill/src/main.ts");
  });

  it("the ConfigMap's config.yaml is accepted by libs/config", () => {
    const tmp = mkdtempSync(join(tmpdir(), "k8s-config-"));
    try {
      const path = join(tmp, "config.yaml");
      writeFileSync(path, find("ConfigMap", "certstream-config").data["config.yaml"]);
      const { config, warnings } = loadConfig({ path, env: {}, argv: [] });
      expect(warnings).toEqual([]);
      expect(config.kafka.brokers).toEqual(["kafka:9092"]);
      expect(config.delta_sink.table_path).toBe("/data/certstream");
      expect(config.port).toBe(8080);
      expect(config.ingester.port).toBe(8081);
      expect(config.delta_sink.port).toBe(8082);
      expect(config.backfill.port).toBe(8083);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  // Debian's prometheus build leaves out Kubernetes service discovery ("field kubernetes_sd_configs not
  // found"), so promtool cannot check this file here: check that the relabelling keeps `job` = app name.
  it("prometheus-scrape.yml keeps annotated pods and names jobs after the app", () => {
    const cfg = parseYaml(readFileSync(join(dir, "prometheus-scrape.yml"), "utf8"));
    const job = cfg.scrape_configs[0];
    expect(job.kubernetes_sd_configs[0].role).toBe("pod");
    const rules = job.relabel_configs as K8sObject[];
    expect(rules[0]).toMatchObject({ action: "keep", regex: "true" });
    expect(rules.find((r) => r.target_label === "job").source_labels).toEqual([
      "__meta_kubernetes_pod_label_app_kubernetes_io_name",
    ]);
    const addr = rules.find((r) => r.target_label === "__address__");
    expect("10.1.2.3:8080;8081".replace(new RegExp(`^${addr.regex}$`), "$1:$2")).toBe("10.1.2.3:8081");
  });
});

// deploy/k8s and docker-compose.yml describe the same system: same image, same settings for each service (the
// compose file's CERTSTREAM_* env and the ConfigMap's config.yaml resolve to the same values), same ports, the
// same health endpoint probed, the same user and data mount, and at least compose's grace period to stop.
describe("deploy/k8s is consistent with docker-compose.yml", () => {
  interface ComposeService {
    image?: string;
    environment?: Record<string, string>;
    volumes?: string[];
    healthcheck?: { test?: string[] };
    stop_grace_period?: string;
  }
  const compose = parseYaml(readFileSync(join(repoRoot, "docker-compose.yml"), "utf8"), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  const kustomization = parseYaml(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as {
    images: { name: string; newName: string; newTag: string }[];
  };
  const k8sConfig = () => {
    const tmp = mkdtempSync(join(tmpdir(), "k8s-compose-"));
    try {
      const path = join(tmp, "config.yaml");
      writeFileSync(path, find("ConfigMap", "certstream-config").data["config.yaml"]);
      return loadConfig({ path, env: {}, argv: [] }).config;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  };
  const podOf = (name: string) =>
    (name === "backfill" ? find("Job", "backfill") : find("Deployment", name)).spec.template.spec;

  for (const name of ["streamer", "ingester", "delta-sink", "backfill", "archive-search"]) {
    it(`${name}: image, settings, port, probe, user, data mount and grace period match`, () => {
      const svc = compose.services[name];
      const pod = podOf(name);
      const c = pod.containers[0];
      // Image: kustomize maps the manifests' `certstream` to the image compose builds.
      const mapped = kustomization.images.find((i) => i.name === c.image);
      expect(`${mapped?.newName}:${mapped?.newTag}`).toBe(svc.image);
      // Settings: the compose env and the ConfigMap agree on every value compose sets.
      const composeEnv = Object.fromEntries(
        Object.entries(svc.environment ?? {}).filter(([k]) => k.startsWith("CERTSTREAM_")),
      );
      const fromCompose = loadConfig({ argv: [], env: composeEnv }).config;
      const fromK8s = k8sConfig();
      expect(fromK8s.kafka.brokers, "kafka.brokers").toEqual(fromCompose.kafka.brokers);
      expect(fromK8s.kafka.schema_registry_url, "kafka.schema_registry_url").toBe(
        fromCompose.kafka.schema_registry_url,
      );
      expect(fromK8s.log_level, "log_level").toBe(fromCompose.log_level);
      if (composeEnv.CERTSTREAM_DELTA_SINK_TABLE_PATH) {
        expect(fromK8s.delta_sink.table_path).toBe(fromCompose.delta_sink.table_path);
      }
      // Port: compose's HEALTH_PORT is the container port and the port of the service's own config key.
      const port = {
        streamer: fromK8s.port,
        ingester: fromK8s.ingester.port,
        "delta-sink": fromK8s.delta_sink.port,
        backfill: fromK8s.backfill.port,
        "archive-search": fromK8s.archive_search.port,
      }[name];
      expect(Number(svc.environment?.HEALTH_PORT)).toBe(port);
      expect(c.ports[0].containerPort).toBe(port);
      // Probe: both ask /health of that port.
      expect(svc.healthcheck?.test?.join(" ")).toContain("/health");
      if (c.livenessProbe) expect(c.livenessProbe.httpGet.path).toBe("/health");
      // User: the image's (Dockerfile `USER node`, uid 1000 in node:24-slim and its local stand-in).
      expect(readFileSync(join(repoRoot, "Dockerfile"), "utf8")).toMatch(/^USER node$/m);
      expect(pod.securityContext?.runAsUser ?? 1000).toBe(1000);
      // Data: the Delta table's volume is mounted at /data in both.
      const composeData = (svc.volumes ?? []).some((v) => v.split(":")[1] === "/data");
      const k8sData = (c.volumeMounts ?? []).some((m: K8sObject) => m.mountPath === "/data");
      expect(k8sData, "/data mounted").toBe(composeData);
      // Process settings (the streamer's memory, services/streamer/src/main.ts): the same where either sets one.
      for (const key of ["NODE_OPTIONS", "MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_"]) {
        const k8sValue = (c.env ?? []).find((e: K8sObject) => e.name === key)?.value;
        expect(k8sValue, key).toBe(svc.environment?.[key]);
      }
      // Stopping: Kubernetes gives at least compose's stop_grace_period.
      const grace = Number.parseInt(svc.stop_grace_period ?? "10s", 10);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(grace);
    });
  }

  it("the streamer's memory settings are those scripts/up.sh starts it with", () => {
    const up = readFileSync(join(repoRoot, "scripts/up.sh"), "utf8");
    const upDefault = (name: string) =>
      new RegExp(`^${name}=\\$\\{${name}-"?([^"}]*)"?\\}`, "m").exec(up)?.[1];
    const env = compose.services.streamer.environment;
    expect(upDefault("STREAMER_NODE_OPTIONS")).toBe(env?.NODE_OPTIONS);
    expect(upDefault("STREAMER_MALLOC_ARENA_MAX")).toBe(env?.MALLOC_ARENA_MAX);
    expect(upDefault("STREAMER_MALLOC_MMAP_THRESHOLD")).toBe(env?.MALLOC_MMAP_THRESHOLD_);
    // The image's compile cache is keyed by the V8 flags: warmed with other flags, the streamer would miss it.
    const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
    expect(dockerfile).toContain(
      `NODE_OPTIONS=${env?.NODE_OPTIONS} node services/streamer/src/main.ts --validate-config`,
    );
  });

  it("Kafka and the registry are where both expect them (kafka:9092, registry:8080)", () => {
    const cfg = k8sConfig();
    expect(cfg.kafka.brokers).toEqual(["kafka:9092"]);
    expect(compose.services.kafka.environment?.KAFKA_ADVERTISED_LISTENERS).toContain(
      "PLAINTEXT://kafka:9092",
    );
    const registry = new URL(cfg.kafka.schema_registry_url);
    expect(`${registry.hostname}:${registry.port}`).toBe("registry:8080");
    expect(compose.services.registry).toBeDefined();
  });
});
