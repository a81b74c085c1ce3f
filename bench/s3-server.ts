// A local S3-compatible server for the archive-search figures on a large table (s3rver, from npm; objects are files,
// a range GET reads only its range). The stack's moto reads a whole object for every range GET (144 ms per GET on
// a 250 MB data file), so on a 10 M-row table it measures moto, not the search. Runs until interrupted:
//   node bench/s3-server.ts [--port 19180] [--dir .cache/s3rver] [--upload <local table dir> <s3://bucket/prefix>]
// then, in another shell: S3_ENDPOINT_URL=http://127.0.0.1:19180 S3_ACCESS_KEY=S3RVER \
//   node bench/archive-search.bench.ts s3://bucket/prefix [--latency-ms 20]
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { parseArgs } from "node:util";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: "string", default: "19180" },
    dir: { type: "string", default: join(import.meta.dirname, "..", ".cache", "s3rver") },
    upload: { type: "string" },
  },
});
const port = Number(values.port);
await new S3rver({ port, address: "127.0.0.1", directory: values.dir, silent: true }).run();
const endpoint = `http://127.0.0.1:${port}`;
console.log(`s3rver on ${endpoint}, objects in ${values.dir} (access key and secret: S3RVER)`);

const from = values.upload;
const target = positionals[0];
if (from && target) {
  const url = new URL(target);
  const bucket = url.hostname;
  const prefix = url.pathname.replace(/^\/+|\/+$/g, "");
  const s3 = new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => {});
  const t0 = performance.now();
  let bytes = 0;
  for (const f of readdirSync(from, { recursive: true }).map(String)) {
    const abs = join(from, f);
    if (!statSync(abs).isFile()) continue;
    const key = [prefix, relative(from, abs).split(sep).join("/")].filter(Boolean).join("/");
    const body = readFileSync(abs);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    bytes += body.byteLength;
  }
  console.log(
    `uploaded ${from} to ${target}: ${(bytes / 2 ** 30).toFixed(2)} GiB in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
}
