// IngesterState evolves BACKWARD (libs/schema/avro/history): version 1 (the position), version 2 (issue 18's
// verification), and the current one with issue 11's `batch` (the offsets a torn batch is read back at). The
// registry takes each in order; a state of an earlier version reads with `batch` null (nothing to read back);
// a reader still on version 2 reads a current state without it.
import { readFileSync } from "node:fs";
import avro from "avsc";
import { describe, expect, it } from "vitest";
import { registryUrl, uniqueName } from "../../../test/stack.ts";
import { StateCodec } from "../src/index.ts";
import { historySchema, registerSchemaText, setCompatibility } from "./fixture.ts";

const history = (n: number) => historySchema("IngesterState", n);
const current = readFileSync(new URL("../../schema/avro/IngesterState.avsc", import.meta.url), "utf8");

describe("IngesterState with the batch's offsets (real registry)", () => {
  it("evolves BACKWARD over every earlier schema, in both reading directions", async () => {
    const topic = uniqueName("state-evolve");
    const subject = `${topic}-value`;
    expect((await registerSchemaText(subject, history(1))).status).toBe(200);
    const put = await setCompatibility(subject, "BACKWARD");
    expect(put.status).toBe(200);
    const second = await registerSchemaText(subject, history(2));
    expect(second.status).toBe(200);
    const previousId = ((await second.json()) as { id: number }).id;
    // A control that must fail: a field without a default cannot read the earlier states.
    const breaking = JSON.parse(current) as { fields: unknown[] };
    breaking.fields.push({ name: "required_field", type: "string" });
    expect((await registerSchemaText(subject, JSON.stringify(breaking))).status).toBe(409);
    const codec = new StateCodec(registryUrl(), topic);
    await codec.register("BACKWARD");

    // A state of version 2: no batch.
    const previous = avro.Type.forSchema(JSON.parse(history(2)) as avro.Schema);
    const base = { log_id: "log", log_url: "u", next_index: 20, tree_size: 40, updated_at: 1, owner: "r" };
    const framed = Buffer.concat([
      Buffer.from([0, 0, 0, 0, 0]),
      previous.toBuffer({ ...base, verification: null }),
    ]);
    framed.writeInt32BE(previousId, 1);
    expect(await codec.decode(framed)).toMatchObject({ ...base, batch: null });

    // A current state carries it; a reader on version 2 reads it without.
    const batch = { from_index: 10, entries_offsets: [{ partition: 2, first: 7, last: 12 }] };
    const fresh = codec.encode({ ...base, verification: null, batch });
    expect((await codec.decode(fresh))?.batch).toEqual(batch);
    const seenByOld = previous.fromBuffer(
      fresh.subarray(5),
      previous.createResolver(avro.Type.forSchema(JSON.parse(current) as avro.Schema)),
    ) as { next_index: number; batch?: unknown };
    expect(seenByOld.next_index).toBe(20);
    expect(seenByOld.batch).toBeUndefined();
  });
});
