/**
 * The streamer's metrics, on the process registry of @certstream/metrics (names certstream_streamer_*; labels
 * bounded: stream, transport, reason, kind, outcome — never a client address or a domain). Shared metrics
 * come from the library: HTTP requests/latency (registerHttpMetrics), consumer lag per partition
 * (setConsumerLag, group "streamer"), config reloads (recordConfigReload).
 */
import { AGE_BUCKETS, counter, gauge, histogram } from "@certstream/metrics";
import { STREAM_FORMATS, type StreamFormat } from "./settings.ts";

export interface StreamerStatsSource {
  connections(format: StreamFormat, transport: "ws" | "sse"): number;
  bufferedBytes(format: StreamFormat): number;
}

/** The server whose clients the scrape-time gauges read (one per process; the last one started). */
let statsSource: StreamerStatsSource | null = null;

export function setStatsSource(s: StreamerStatsSource | null): void {
  statsSource = s;
}

export const streamerMetrics = {
  connections: gauge({
    name: "certstream_streamer_connections",
    help: "Connected stream clients by stream (lite, full, domains) and transport (ws, sse)",
    labelNames: ["stream", "transport"],
    collect() {
      if (!statsSource) return;
      for (const f of STREAM_FORMATS)
        for (const t of ["ws", "sse"] as const)
          this.set({ stream: f, transport: t }, statsSource.connections(f, t));
    },
  }),
  sendBufferBytes: gauge({
    name: "certstream_streamer_send_buffer_bytes",
    help: "Bytes queued in client send buffers, summed per stream",
    labelNames: ["stream"],
    collect() {
      if (!statsSource) return;
      for (const f of STREAM_FORMATS) this.set({ stream: f }, statsSource.bufferedBytes(f));
    },
  }),
  deliveries: counter({
    name: "certstream_streamer_deliveries_total",
    help: "Messages queued to clients, per stream",
    labelNames: ["stream"],
  }),
  dropped: counter({
    name: "certstream_streamer_dropped_messages_total",
    help: "Messages not sent to a client because its send buffer was full, per stream",
    labelNames: ["stream"],
  }),
  disconnects: counter({
    name: "certstream_streamer_disconnects_total",
    help: "Stream client disconnects by stream and reason (client, slow, shutdown, ping_timeout, frame_too_large, error, resume_failed)",
    labelNames: ["stream", "reason"],
  }),
  refused: counter({
    name: "certstream_streamer_connections_refused_total",
    help: "Requests refused before a stream started, by kind (auth, max_connections, per_ip_limit, rate_limit, bad_request, draining, not_ready, resume_busy)",
    labelNames: ["kind"],
  }),
  /**
   * Age of a live record (now − its Kafka timestamp, set when the ingester produced it to entries and kept
   * by the dedup stage) when the live reader handed it over (`received`), and when it had been queued to
   * every client (`fanned_out`; the sockets send it within streamer.write_coalesce_ms). With the ingester's
   * certstream_ingester_record_age_seconds it splits the stream's latency by stage.
   */
  recordAge: histogram({
    name: "certstream_streamer_record_age_seconds",
    help: "Age of a live certificate since the ingester produced it, when received from Kafka (received) and when queued to every client (fanned_out)",
    labelNames: ["stage"],
    buckets: AGE_BUCKETS,
  }),
  memoryReleases: counter({
    name: "certstream_streamer_memory_releases_total",
    help: "Times the memory of a burst was given back (a last-resort GC after the load fell; memory-release.ts)",
  }),
  records: counter({
    name: "certstream_streamer_records_total",
    help: "Certificates read from the certs topic by the live reader",
  }),
  errors: counter({
    name: "certstream_streamer_errors_total",
    help: "Failures by kind (decode, render, resume, kafka, upgrade)",
    labelNames: ["kind"],
  }),
  resumes: counter({
    name: "certstream_streamer_resumes_total",
    help: "Resumed streams by outcome (caught_up, failed)",
    labelNames: ["outcome"],
  }),
  replayed: counter({
    name: "certstream_streamer_replayed_messages_total",
    help: "Messages delivered by resume readers before the switch to the live feed",
  }),
  clientMessages: counter({
    name: "certstream_streamer_client_messages_total",
    help: "Messages received from WebSocket clients (ignored)",
  }),
};

export type StreamerMetrics = typeof streamerMetrics;
