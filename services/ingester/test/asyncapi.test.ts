// docs/asyncapi.yaml is the topic contract for other teams: it must name the topics, schemas and headers the
// code actually uses.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  DEFAULT_TOPICS,
  HEADER_ENTRIES_OFFSET,
  HEADER_LEAF_PARSED,
  HEADER_LOG_ID,
  HEADER_LOG_INDEX,
  HEADER_PARSE_ERROR,
} from "@certstream/kafka";
import { certificateEntrySchemaText, ingesterStateSchemaText } from "@certstream/schema";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { repoRoot } from "../../../test/stack.ts";

const path = join(repoRoot, "docs/asyncapi.yaml");
// biome-ignore lint/suspicious/noExplicitAny: walking a parsed YAML document
const doc: any = parse(readFileSync(path, "utf8"));

describe("docs/asyncapi.yaml", () => {
  it("is AsyncAPI 3 and describes the four topics by their default names", () => {
    expect(doc.asyncapi).toBe("3.0.0");
    const addresses = Object.values(doc.channels).map((c) => (c as { address: string }).address);
    for (const t of Object.values(DEFAULT_TOPICS)) expect(addresses).toContain(t);
  });

  it("references the Avro schemas the code registers", () => {
    const msgs = doc.components.messages;
    const entry = readFileSync(join(dirname(path), msgs.CertificateEntry.payload.schema.$ref), "utf8");
    expect(JSON.parse(entry)).toEqual(JSON.parse(certificateEntrySchemaText));
    const state = readFileSync(join(dirname(path), msgs.IngesterState.payload.schema.$ref), "utf8");
    expect(JSON.parse(state)).toEqual(JSON.parse(ingesterStateSchemaText));
  });

  it("documents the record headers the ingester and the dedup stage write", () => {
    const headers = Object.keys(doc.components.messages.CertificateEntry.headers.properties);
    expect(headers.sort()).toEqual(
      [HEADER_ENTRIES_OFFSET, HEADER_LEAF_PARSED, HEADER_LOG_ID, HEADER_LOG_INDEX, HEADER_PARSE_ERROR].sort(),
    );
  });

  it("resolves every internal $ref", () => {
    const refs: string[] = [];
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === "object")
        for (const [k, x] of Object.entries(v))
          k === "$ref" && typeof x === "string" ? refs.push(x) : walk(x);
    };
    walk(doc);
    for (const ref of refs.filter((r) => r.startsWith("#/"))) {
      let node = doc;
      for (const part of ref.slice(2).split("/")) node = node?.[part];
      expect(node, ref).toBeDefined();
    }
  });
});
