/** What other code (cross-service tests, benchmarks) may use of the streamer; the service itself is main.ts. */
export { CertsSource, type CertsSourceOptions } from "./certs-source.ts";
export { decodeCursor, encodeCursor, type Position, parseSince } from "./cursor.ts";
export { ClientFilter } from "./filters.ts";
export { StreamerServer, type StreamerServerOptions } from "./server.ts";
export { type StreamerSettings, streamerSettings } from "./settings.ts";
