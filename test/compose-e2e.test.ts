// docker-compose.yml run for real, the way a user runs it: the project's image built from its Dockerfile, the
// infrastructure images (local stand-ins from infra/images/ where no image registry is reachable, built and cached
// by scripts/containers.sh), `up -d --scale streamer=3`, every health check green, certificates end to end, the
// Delta table read back by Python deltalake, the backfill job, a crash (kill -9) healed by the restart policy, and
// `down -v` leaving nothing behind. One `up` serves every assertion. Test traffic goes only to 127.0.0.1 (published
// ports); the containers talk among themselves on the compose network, where test/containers/compose.ct-standin.yml
// adds the CT log stand-ins.
//
// Engine: podman (Debian) behind its Docker-compatible socket, docker-compose 1.29 as the compose implementation
// (infra/images/README.md says why). Skips, saying why, only when no container engine can be installed.
import { execFile, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { waitFor } from "./poll.ts";
import { freePort } from "./service-process.ts";
import { pythonBin, repoRoot } from "./stack.ts";

const project = `cse2e${process.pid}`;
const composeFiles = ["-f", "docker-compose.yml", "-f", "test/containers/compose.ct-standin.yml"];
const SOCKET = "unix:///run/podman/podman.sock";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 600_000): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        cwd: repoRoot,
        env: { ...process.env, ...env },
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        killSignal: "SIGKILL",
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - t0 });
      },
    );
  });
}

async function must(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs?: number) {
  const r = await run(cmd, args, env, timeoutMs);
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`,
    );
  }
  return r;
}

/** Installs the engine when it is missing; the reason it cannot be had, or null when it is there. */
function engineMissing(): string | null {
  const have = () => spawnSync("sh", ["-c", "command -v podman && command -v docker-compose"]).status === 0;
  if (!have()) {
    const r = spawnSync("bash", [`${repoRoot}/scripts/containers.sh`, "install"], {
      encoding: "utf8",
      timeout: 600_000,
    });
    if (r.status !== 0 || !have())
      return `no container engine could be installed (scripts/containers.sh install: ${(r.stderr ?? "").trim().split("\n").pop()})`;
  }
  return null;
}

const missing = engineMissing();
if (missing) console.warn(`[compose-e2e] SKIPPED: ${missing}`);

describe.skipIf(missing !== null)("docker compose up on this machine (podman + docker-compose)", () => {
  const env: NodeJS.ProcessEnv = { DOCKER_HOST: SOCKET, COMPOSE_PROJECT_NAME: project };
  const figures: Record<string, string> = {};
  let upStarted = 0;
  let ingesterPort = 0;
  let streamerPorts: number[] = [];
  let downDone = false;
  let volumesBefore = new Set<string>();
  const volumeNames = async () =>
    (await must("podman", ["volume", "ls", "--format", "{{.Name}}"])).stdout.split("\n").filter(Boolean);

  // Profile "jobs" (the backfill) only where it is named: `up` with it would start the job as a service.
  const compose = (args: string[], timeoutMs?: number) =>
    must(
      "docker-compose",
      [...composeFiles, ...(["run", "down"].includes(args[0]) ? ["--profile", "jobs"] : []), ...args],
      env,
      timeoutMs,
    );
  const containers = async () =>
    (
      await must("podman", [
        "ps",
        "-a",
        "--filter",
        `label=com.docker.compose.project=${project}`,
        "--format",
        "{{.Names}}\t{{.Status}}",
      ])
    ).stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [name, status] = l.split("\t");
        return { name, status };
      });
  const inspect = async (name: string, format: string) =>
    (await must("podman", ["inspect", "--format", format, name])).stdout.trim();
  const table = async () => {
    const mount = (
      await must("podman", ["volume", "inspect", "--format", "{{.Mountpoint}}", `${project}_delta-data`])
    ).stdout.trim();
    const r = await must(pythonBin(), [`${repoRoot}/test/containers/delta_rows.py`, `${mount}/certstream`]);
    return JSON.parse(r.stdout) as {
      rows: number;
      distinct: number;
      logs: Record<string, { min: number; max: number; count: number; distinct: number }>;
    };
  };
  const apiLogs = async () => {
    const r = await fetch(`http://127.0.0.1:${ingesterPort}/api/logs`);
    return ((await r.json()) as { logs: { url: string; position: number | null }[] }).logs;
  };

  beforeAll(async () => {
    await must("bash", ["scripts/containers.sh", "service"]);
    const images = await must("bash", ["scripts/containers.sh", "images"], {}, 1_200_000);
    figures["stand-in images (scripts/containers.sh images)"] = `${(images.ms / 1000).toFixed(1)} s`;
    const ports = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
    ingesterPort = ports[2];
    Object.assign(env, {
      HOST_PORT_KAFKA: String(ports[0]),
      HOST_PORT_REGISTRY: String(ports[1]),
      HOST_PORT_INGESTER: String(ports[2]),
      HOST_PORT_DELTA_SINK: String(ports[3]),
      HOST_PORT_PROMETHEUS: String(ports[4]),
    });
    // One build: the four services share the image (certstream-kafka:local); layers cached by podman.
    const build = await compose(["build", "streamer"], 1_200_000);
    figures["project image (compose build)"] = `${(build.ms / 1000).toFixed(1)} s`;
    volumesBefore = new Set(await volumeNames());
    upStarted = Date.now();
    // docker-compose 1.29 gives up as soon as a dependency reports unhealthy; on a machine loaded by the rest of
    // the suite a JVM can start that slowly. A second `up` continues from where the first stopped (and says so).
    const up = await compose(["up", "-d", "--scale", "streamer=3"], 600_000).catch(async (err) => {
      console.warn(
        `[compose-e2e] first \`up\` failed, running it again: ${(err as Error).message.slice(-1500)}`,
      );
      figures["first up failed (retried)"] = (err as Error).message.split("\n").filter(Boolean).pop() ?? "";
      return compose(["up", "-d", "--scale", "streamer=3"], 600_000);
    });
    figures["compose up -d (returns once kafka and registry are healthy)"] = `${(up.ms / 1000).toFixed(1)} s`;
    await waitFor(
      "every container healthy",
      async () => {
        const cs = await containers();
        return cs.length >= 9 && cs.every((c) => c.status.includes("(healthy)"));
      },
      300_000,
      1000,
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${JSON.stringify(await containers(), null, 1)}`);
    });
    figures["up to every health check green"] = `${((Date.now() - upStarted) / 1000).toFixed(1)} s`;
    streamerPorts = await Promise.all(
      [1, 2, 3].map(async (i) => {
        const out = (await compose(["port", `--index=${i}`, "streamer", "8080"])).stdout.trim();
        expect(out, `streamer replica ${i}`).toMatch(/^127\.0\.0\.1:\d+$/);
        return Number(out.split(":")[1]);
      }),
    );
  }, 1_800_000);

  afterAll(async () => {
    if (!downDone) await run("docker-compose", [...composeFiles, "--profile", "jobs", "down", "-v"], env);
    console.log(
      `[compose-e2e] figures:\n${Object.entries(figures)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join("\n")}`,
    );
  }, 300_000);

  it("runs every service healthy: kafka, registry, prometheus, ct-standin, ingester, delta-sink, archive-search, 3 streamers", async () => {
    const names = (await containers()).map((c) => c.name.replace(`${project}_`, "")).sort();
    expect(names).toEqual([
      "archive-search_1",
      "ct-standin_1",
      "delta-sink_1",
      "ingester_1",
      "kafka_1",
      "prometheus_1",
      "registry_1",
      "streamer_1",
      "streamer_2",
      "streamer_3",
    ]);
    expect(new Set(streamerPorts).size).toBe(3);
  });

  it("each of the three streamer replicas serves certificates on /full-stream to a client on 127.0.0.1", async () => {
    const firsts = await Promise.all(
      streamerPorts.map(
        (port) =>
          new Promise<{ port: number; at: number; url: string; der: unknown }>((resolve, reject) => {
            const ws = new WebSocket(`ws://127.0.0.1:${port}/full-stream`);
            const timer = setTimeout(() => {
              ws.close();
              reject(new Error(`no certificate from the replica on port ${port} within 120 s`));
            }, 120_000);
            ws.on("message", (data) => {
              const msg = JSON.parse(String(data));
              if (msg.message_type !== "certificate_update") return;
              clearTimeout(timer);
              ws.close();
              resolve({ port, at: Date.now(), url: msg.data.source.url, der: msg.data.leaf_cert?.as_der });
            });
            ws.on("error", (err) => {
              clearTimeout(timer);
              reject(err);
            });
          }),
      ),
    );
    const first = Math.min(...firsts.map((f) => f.at));
    figures["up to first certificate on a client"] = `${((first - upStarted) / 1000).toFixed(1)} s`;
    // The certificates come from the stand-ins on the compose network (the ingester read their log list).
    for (const f of firsts) {
      expect(f.url).toMatch(/^http:\/\/[0-9.]+:16900\/(rfc|static)0\/$/);
      expect(f.der).toBeTruthy();
    }
  }, 150_000);

  it("the delta sink writes its table into its volume; Python deltalake reads one row per (log, index)", async () => {
    const t = await waitFor(
      "rows of both logs in the table",
      async () => {
        const t = await table();
        return Object.keys(t.logs).length === 2 && t.rows > 0 ? t : undefined;
      },
      120_000,
      2000,
    );
    expect(t.distinct).toBe(t.rows);
  }, 150_000);

  it("`docker compose run --rm backfill --dry-run` exits 0", async () => {
    const r = await compose(["run", "--rm", "-T", "backfill", "--dry-run"], 300_000);
    expect(r.stdout).toMatch(/total: \d+ entries missing/);
  }, 320_000);

  it("a delta-sink killed with kill -9 is restarted by its restart policy and the table still has every (log, index) once", async () => {
    const name = `${project}_delta-sink_1`;
    const pid = Number(await inspect(name, "{{.State.Pid}}"));
    const restarts = Number(await inspect(name, "{{.RestartCount}}"));
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, "SIGKILL");
    await waitFor(
      "delta-sink restarted and healthy",
      async () => {
        const [count, status] = [
          Number(await inspect(name, "{{.RestartCount}}")),
          (await containers()).find((c) => c.name === name)?.status ?? "",
        ];
        return count > restarts && status.includes("(healthy)");
      },
      180_000,
      1000,
    );
    // Freeze the logs, then wait until the table holds exactly what the ingester wrote.
    await compose(["stop", "ct-standin"]);
    const final = await waitFor(
      "the table to hold every entry the ingester wrote",
      async () => {
        const [t, logs] = await Promise.all([table(), apiLogs()]);
        const done = logs.every((l) => {
          const s = t.logs[l.url];
          return (
            l.position !== null &&
            s !== undefined &&
            s.max + 1 === l.position &&
            s.count === s.max - s.min + 1
          );
        });
        return done ? t : undefined;
      },
      180_000,
      3000,
    );
    expect(final.distinct).toBe(final.rows);
    for (const s of Object.values(final.logs)) {
      expect(s.distinct).toBe(s.count);
      expect(s.count).toBe(s.max - s.min + 1);
    }
    figures["rows in the table at the end"] = String(final.rows);
  }, 420_000);

  it("reports the memory of each container under the stand-in load", async () => {
    const stats = (
      await must("podman", [
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}}\t{{.MemUsage}}",
        ...(await containers()).filter((c) => c.status.startsWith("Up")).map((c) => c.name),
      ])
    ).stdout.trim();
    for (const line of stats.split("\n")) {
      const [n, mem] = line.split("\t");
      figures[`memory ${n.replace(`${project}_`, "")}`] = mem;
    }
    expect(stats.split("\n").length).toBeGreaterThanOrEqual(8);
  });

  it("`down -v` leaves no container, network or volume behind", async () => {
    await compose(["down", "-v"], 300_000);
    downDone = true;
    expect(await containers()).toEqual([]);
    const networks = (await must("podman", ["network", "ls", "--format", "{{.Name}}"])).stdout;
    expect(networks.split("\n").filter((n) => n.startsWith(project))).toEqual([]);
    // Named volumes and the anonymous ones of the images' VOLUME declarations alike.
    expect((await volumeNames()).filter((v) => !volumesBefore.has(v))).toEqual([]);
  }, 320_000);
});
