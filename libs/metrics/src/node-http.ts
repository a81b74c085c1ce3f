/**
 * node:http for the services, without its ES module facade. `import … from "node:http"` builds the module's
 * namespace, which reads every export, and three of them (WebSocket, CloseEvent, MessageEvent) are getters
 * that load undici: ~10 MB of RSS (4.3 anonymous, 5.6 file-backed) in a process that never uses it, a tenth
 * of what the streamer may hold. Types still come from `import type … from "node:http"` (erased). Biome's
 * noRestrictedImports points libs/ and services/ here.
 */
export const http = process.getBuiltinModule("node:http");
