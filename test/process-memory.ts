/**
 * A child process's memory, for tests that ask whether it was released. `collectGarbage` runs a full collection in a child process started with `--inspect=127.0.0.1:<port>`, through the inspector
 * protocol (HeapProfiler.collectGarbage), so such a test compares sizes after a collection it ran rather than
 * after whenever V8 chooses to collect: on a busy machine that can be minutes.
 */
import { readFileSync } from "node:fs";
import WebSocket from "ws";

export async function collectGarbage(inspectPort: number): Promise<void> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once("error", reject);
      ws.once("open", () => ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" })));
      ws.on("message", (data) => {
        const reply = JSON.parse(String(data)) as { id?: number; error?: { message: string } };
        if (reply.id !== 1) return;
        if (reply.error) reject(new Error(`HeapProfiler.collectGarbage: ${reply.error.message}`));
        else resolve();
      });
    });
  } finally {
    ws.close();
  }
}

/** A process's resident set in bytes (VmRSS), 0 once it is gone. */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
