import { describe, expect, it } from "vitest";
import { FAILURE_KINDS, failureKind, KindedError } from "../src/index.ts";

function errWith(props: Record<string, unknown>, message = "x"): Error {
  return Object.assign(new Error(message), props);
}

describe("failureKind", () => {
  it("maps errors to a bounded kind", () => {
    const cases: [unknown, string][] = [
      [new KindedError("parse", "bad leaf"), "parse"],
      [errWith({ code: "ECONNREFUSED" }), "network"],
      [errWith({ code: "ENOTFOUND" }), "network"],
      [errWith({ code: "ETIMEDOUT" }), "timeout"],
      [errWith({ name: "TimeoutError" }), "timeout"],
      [errWith({ name: "AbortError" }), "cancelled"],
      [errWith({ code: "ENOENT" }), "storage"],
      [errWith({ code: "ENOSPC" }), "storage"],
      [errWith({ name: "KafkaJSConnectionError" }), "network"],
      [errWith({ name: "KafkaJSRequestTimeoutError" }), "timeout"],
      [errWith({ name: "KafkaJSProtocolError", type: "TOPIC_AUTHORIZATION_FAILED" }), "auth"],
      [errWith({ name: "KafkaJSProtocolError", type: "INVALID_PRODUCER_EPOCH" }), "conflict"],
      [errWith({ name: "KafkaJSProtocolError", type: "UNKNOWN_TOPIC_OR_PARTITION" }), "kafka"],
      [
        errWith({
          name: "KafkaJSNumberOfRetriesExceeded",
          cause: errWith({ name: "KafkaJSConnectionError" }),
        }),
        "network",
      ],
      [errWith({ name: "SchemaRegistryError" }), "schema"],
      [errWith({ status: 401 }), "auth"],
      [errWith({ statusCode: 429 }), "rate_limit"],
      [errWith({ status: 500 }), "http"],
      [new SyntaxError("Unexpected token } in JSON"), "parse"],
      [new Error("STH signature invalid"), "verify"],
      [errWith({ cause: errWith({ code: "ECONNRESET" }) }, "fetch failed"), "network"],
      [
        errWith(
          { name: "ResponseError", status: 400 },
          "Confluent_Schema_Registry - Error, status 400: connect ECONNREFUSED 127.0.0.1:1",
        ),
        "network",
      ],
      [
        errWith({ name: "ResponseError", status: 404 }, "Confluent_Schema_Registry - Subject 'x' not found."),
        "schema",
      ],
      [errWith({ name: "ResponseError", status: 401, unauthorized: true }, "Unauthorized"), "auth"],
      [new Error("request to x failed, reason: socket hang up"), "network"],
      [new Error("something odd"), "unknown"],
      ["a string", "unknown"],
      [null, "unknown"],
      [errWith({ kind: "not-a-kind" }, "odd"), "unknown"],
    ];
    for (const [err, kind] of cases) expect([err, failureKind(err)]).toEqual([err, kind]);
    for (const [err] of cases) expect(FAILURE_KINDS).toContain(failureKind(err));
  });
});
