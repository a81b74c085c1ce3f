// Waits until a Kafka broker answers an admin call (describeCluster + listTopics): an open port alone is too
// early. Used by scripts/stack.sh; exits 0 when ready, 1 on timeout or when the broker process died.
//   node scripts/kafka-ready.mjs <brokers> <timeoutSeconds> [pid]
import { Kafka, logLevel } from "kafkajs";

const [brokersArg = "127.0.0.1:19092", timeoutArg = "90", pidArg] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutArg) * 1000;
const kafka = new Kafka({
  clientId: "stack-ready",
  brokers: brokersArg.split(","),
  logLevel: logLevel.NOTHING,
  connectionTimeout: 2000,
  requestTimeout: 5000,
  retry: { retries: 0 },
});

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let lastError = "no attempt";
while (Date.now() < deadline) {
  if (pidArg && !alive(Number(pidArg))) {
    console.error(`kafka process ${pidArg} exited`);
    process.exit(1);
  }
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.listTopics();
    await admin.disconnect();
    console.log(`kafka ready: cluster ${cluster.clusterId}, controller ${cluster.controller}`);
    process.exit(0);
  } catch (e) {
    lastError = e instanceof Error ? e.message : String(e);
    await admin.disconnect().catch(() => {});
    await new Promise((r) => setTimeout(r, 500));
  }
}
console.error(`kafka not ready after ${timeoutArg} s: ${lastError}`);
process.exit(1);
