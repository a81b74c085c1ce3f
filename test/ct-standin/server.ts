import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type LogKey, parseLogKey } from "../../libs/ct/src/log-key.ts";
import { send } from "./faults.ts";
import { type Rfc6962LogOptions, Rfc6962StandInLog } from "./rfc6962-log.ts";
import { type StaticLogOptions, StaticStandInLog } from "./static-log.ts";

// Several stand-in logs in one plain node HTTP server, each under its own path prefix:
//   http://127.0.0.1:<port>/<name>/ct/v1/get-sth            (RFC 6962)
//   http://127.0.0.1:<port>/<name>/checkpoint, tile/...      (static-ct-api monitoring prefix)
//   http://127.0.0.1:<port>/log_list.json                    (a Chrome v3 log list describing them, unsigned)

export type StandInLog = Rfc6962StandInLog | StaticStandInLog;

export interface StandInServerOptions {
  port?: number;
  host?: string;
  rfc6962?: Rfc6962LogOptions[];
  static?: StaticLogOptions[];
  /** start() also starts each log's growth timer (default true; false leaves `log.start()` to the test). */
  growOnStart?: boolean;
}

export class StandInServer {
  readonly logs = new Map<string, StandInLog>();
  readonly #server: Server;
  readonly #opts: StandInServerOptions;
  #baseUrl = "";

  constructor(opts: StandInServerOptions = {}) {
    this.#opts = opts;
    for (const o of opts.rfc6962 ?? []) this.addRfc6962(o);
    for (const o of opts.static ?? []) this.addStatic(o);
    this.#server = createServer((req, res) => {
      this.#route(req, res).catch((err) => {
        if (!res.headersSent) send(res, 500, `stand-in error: ${(err as Error).message}\n`);
        else res.destroy();
      });
    });
    this.#server.keepAliveTimeout = 30_000;
  }

  add<L extends StandInLog>(log: L): L {
    if (!/^[a-z0-9][a-z0-9._-]*$/i.test(log.name))
      throw new Error(`stand-in log name ${log.name} must be a path segment`);
    this.logs.set(log.name, log);
    return log;
  }

  addRfc6962(opts: Rfc6962LogOptions): Rfc6962StandInLog {
    return this.add(new Rfc6962StandInLog(opts));
  }

  addStatic(opts: StaticLogOptions): StaticStandInLog {
    return this.add(new StaticStandInLog(opts));
  }

  rfc(name: string): Rfc6962StandInLog {
    const l = this.logs.get(name);
    if (!(l instanceof Rfc6962StandInLog)) throw new Error(`no RFC 6962 stand-in ${name}`);
    return l;
  }

  static(name: string): StaticStandInLog {
    const l = this.logs.get(name);
    if (!(l instanceof StaticStandInLog)) throw new Error(`no static stand-in ${name}`);
    return l;
  }

  /** Base URL of a log ("http://127.0.0.1:port/<name>/"). */
  url(name: string): string {
    return `${this.#baseUrl}/${name}/`;
  }

  /** What an RfcLogClient needs to reach stand-in `name`: its name, base URL and public key. */
  rfcEndpoint(name: string): { name: string; url: string; key: LogKey } {
    return { name, url: this.url(name), key: parseLogKey(this.rfc(name).key.publicKeyBase64) };
  }

  /** What a StaticLogClient needs to reach stand-in `name`: name, monitoring prefix, checkpoint origin, key. */
  staticEndpoint(name: string): { name: string; url: string; origin: string; key: LogKey } {
    const l = this.static(name);
    return { name, url: this.url(name), origin: l.origin, key: parseLogKey(l.key.publicKeyBase64) };
  }

  get baseUrl(): string {
    return this.#baseUrl;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#opts.port ?? 0, this.#opts.host ?? "127.0.0.1", () => resolve());
    });
    const addr = this.#server.address() as AddressInfo;
    this.#baseUrl = `http://${addr.address}:${addr.port}`;
    if (this.#opts.growOnStart ?? true) for (const l of this.logs.values()) l.start();
    return this.#baseUrl;
  }

  async stop(): Promise<void> {
    for (const l of this.logs.values()) l.stop();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** A Chrome v3 log list of these logs (RFC 6962 under `logs`, static under `tiled_logs`), grouped by operator. */
  logList(): object {
    const ops = new Map<string, { name: string; email: string[]; logs: object[]; tiled_logs: object[] }>();
    for (const l of this.logs.values()) {
      let op = ops.get(l.operator);
      if (!op) {
        op = { name: l.operator, email: ["standin@example.org"], logs: [], tiled_logs: [] };
        ops.set(l.operator, op);
      }
      const common = {
        description: `Stand-in '${l.name}'`,
        log_id: l.key.logIdBase64,
        key: l.key.publicKeyBase64,
        mmd: 60,
        state: { usable: { timestamp: "2026-01-01T00:00:00Z" } },
      };
      if (l instanceof Rfc6962StandInLog) op.logs.push({ ...common, url: this.url(l.name) });
      else
        op.tiled_logs.push({
          ...common,
          submission_url: `https://${l.origin}/`,
          monitoring_url: this.url(l.name),
        });
    }
    return { version: "1.0", log_list_timestamp: new Date().toISOString(), operators: [...ops.values()] };
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? "/", "http://standin");
    if (u.pathname === "/log_list.json") {
      send(res, 200, JSON.stringify(this.logList(), null, 1), { "content-type": "application/json" });
      return;
    }
    const m = /^\/([^/]+)\/(.*)$/.exec(u.pathname);
    const log = m ? this.logs.get(m[1]) : undefined;
    if (!m || !log) {
      send(res, 404, "no such log\n");
      return;
    }
    await log.handle(req, res, m[2], u.searchParams);
  }
}
