/**
 * One small HTTP request over node:http(s): the schema registry's calls and the streamer's polls of the ingester
 * APIs. Not `fetch`, because the first fetch of a process loads undici and compiles its llhttp WebAssembly: a
 * process that made 20 fetches held 26 MB anonymous and 51 MB file-backed memory, the same 20 requests over
 * node:http 10 and 43 MB. The streamer, whose only fetches these were, must stay under 100 MB.
 */
import type { RequestOptions } from "node:http";
import { request as tlsRequest } from "node:https";
import { http } from "./node-http.ts";

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The whole exchange, from connecting to the last byte of the answer (default 10 s). */
  timeoutMs?: number;
  /** An answer longer than this is refused (default 16 MiB). */
  maxBytes?: number;
}

export interface HttpAnswer {
  status: number;
  text: string;
}

/** Answers any status; rejects when no whole answer came (its error's `code` says why, as node:net's do). */
export function httpRequest(url: string, opts: HttpRequestOptions = {}): Promise<HttpAnswer> {
  const target = new URL(url);
  const request = target.protocol === "https:" ? tlsRequest : http.request;
  const maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
  const options: RequestOptions = {
    method: opts.method ?? "GET",
    headers:
      opts.body === undefined
        ? opts.headers
        : { ...opts.headers, "content-length": Buffer.byteLength(opts.body) },
  };
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    const req = request(target, options, (res) => {
      const chunks: Buffer[] = [];
      let length = 0;
      res.on("data", (chunk: Buffer) => {
        length += chunk.length;
        if (length > maxBytes) {
          const err = new Error(`${url}: answer longer than ${maxBytes} bytes`);
          res.destroy(Object.assign(err, { code: "EMSGSIZE" }));
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", fail);
    });
    const timer = setTimeout(() => {
      const err = new Error(`${url}: no whole answer within ${timeoutMs} ms`);
      req.destroy(Object.assign(err, { name: "TimeoutError", code: "ETIMEDOUT" }));
    }, timeoutMs);
    req.on("error", fail);
    req.end(opts.body);
  });
}
