// Fetch throughput of the CT clients against the stand-in logs (same process, loopback HTTP): entries per second
// read from start to head by RfcLogClient (get-entries JSON + base64) and StaticLogClient (gzip data tiles, TileLeaf
// decoding, issuer resolution; with and without Merkle checks). Server and client share the event loop, so these
// are lower bounds of what the client alone does. Prints figures; asserts nothing.
// Run: node bench/ct-clients.bench.ts   (BENCH_ENTRIES=n for the log sizes)
import { IssuerCache, RfcLogClient, StaticLogClient } from "@certstream/ct";
import { StandInServer } from "../test/ct-standin/server.ts";

const N = Number(process.env.BENCH_ENTRIES ?? 20_000);
const server = new StandInServer({
  rfc6962: [
    { name: "rfc-p256", initialSize: N, pageSize: 256, mode: "distinct" },
    { name: "rfc-p32", initialSize: Math.floor(N / 4), pageSize: 32, mode: "distinct" },
  ],
  static: [{ name: "static", initialSize: N, mode: "distinct" }],
});
await server.start();

async function measure(label: string, run: () => Promise<number>): Promise<void> {
  const t0 = performance.now();
  const n = await run();
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${label.padEnd(58)} ${String(n).padStart(7)} entries  ${(n / s).toFixed(0).padStart(8)} entries/s`,
  );
}

for (const [name, concurrency] of [
  ["rfc-p256", 1],
  ["rfc-p256", 4],
  ["rfc-p32", 4],
  ["rfc-p32", 16],
] as const) {
  await measure(
    `RfcLogClient ${name} (page ${server.rfc(name).pageSize}) concurrency ${concurrency}`,
    async () => {
      const c = new RfcLogClient({
        ...server.rfcEndpoint(name),
        fetchConcurrency: concurrency,
        batchSize: 1024,
      });
      const head = await c.head();
      let n = 0;
      for await (const item of c.fetch(0, head.treeSize))
        if (item.kind === "entries") n += item.entries.length;
      return n;
    },
  );
}
for (const verifyMerkle of [false, true]) {
  await measure(`StaticLogClient gzip tiles, concurrency 4, merkle ${verifyMerkle}`, async () => {
    const c = new StaticLogClient({
      ...server.staticEndpoint("static"),
      issuers: new IssuerCache(),
      fetchConcurrency: 4,
      verifyMerkle,
    });
    const head = await c.head();
    let n = 0;
    for await (const item of c.fetch(0, head.treeSize)) if (item.kind === "entries") n += item.entries.length;
    return n;
  });
}
await server.stop();
