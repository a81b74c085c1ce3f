import type { ArchiveSearch, SearchQuery } from "@certstream/archive-search";
import {
  parseSearchParams,
  QueryTooBroadError,
  SearchError,
  SearchParamError,
} from "@certstream/archive-search";
import type { Logger } from "@certstream/log";
import type { FastifyInstance, FastifyReply } from "fastify";
import { searchBytesRead, searchDuration, searches, searchRowsExamined } from "./metrics.ts";

/** The query kind, a bounded metrics label. */
export function queryKind(q: SearchQuery): string {
  if (q.exactDomain !== undefined) return "domain";
  if (q.suffix !== undefined) return "suffix";
  if (q.registered !== undefined) return "registered";
  if (q.issuer !== undefined) return "issuer";
  return "other";
}

function rawQuery(url: string): URLSearchParams {
  const i = url.indexOf("?");
  return new URLSearchParams(i < 0 ? "" : url.slice(i + 1));
}

/** Maps a failed search to its answer: 400 naming the parameter, 422 too broad, 410 stale reference, 500 else. */
function sendError(reply: FastifyReply, err: unknown, logger: Logger, kind: string): FastifyReply {
  if (err instanceof SearchParamError) {
    searches.inc({ kind, outcome: "bad_request" });
    return reply.code(400).send({ error: "bad_parameter", parameter: err.param, message: err.message });
  }
  if (err instanceof QueryTooBroadError) {
    searches.inc({ kind, outcome: "too_broad" });
    return reply.code(422).send({
      error: "query_too_broad",
      message: err.message,
      scan_share: Number(err.share.toFixed(4)),
      max_scan_share: err.maxShare,
      narrow_by: err.hint,
    });
  }
  if (err instanceof SearchError && err.code === "SEARCH_ERR_CURSOR_STALE") {
    searches.inc({ kind, outcome: "stale" });
    return reply.code(410).send({ error: "stale", message: err.message });
  }
  if (err instanceof SearchError && err.code === "SEARCH_ERR_NOT_FOUND") {
    searches.inc({ kind, outcome: "bad_request" });
    return reply.code(404).send({ error: "not_found", message: err.message });
  }
  searches.inc({ kind, outcome: "error" });
  logger.error(
    { err: err instanceof Error ? err.message : String(err), kind },
    "archive search failed; answered 500",
  );
  return reply.code(500).send({ error: "internal", message: "the search failed; see the service log" });
}

/**
 * GET /api/search (JSON rows, `next_cursor`, what the search read) and GET /api/certificate/:ref (the DER of a
 * result, application/pkix-cert).
 */
export function registerSearchRoutes(
  app: FastifyInstance,
  search: ArchiveSearch,
  logger: Logger,
  options: { allowOrigin: string },
): void {
  const cors = (reply: FastifyReply): void => {
    if (options.allowOrigin !== "") reply.header("access-control-allow-origin", options.allowOrigin);
  };
  app.get("/api/search", async (request, reply) => {
    cors(reply);
    let q: SearchQuery;
    try {
      q = parseSearchParams(rawQuery(request.url));
    } catch (err) {
      return sendError(reply, err, logger, "other");
    }
    const kind = queryKind(q);
    try {
      const r = await search.search(q);
      searches.inc({ kind, outcome: "ok" });
      searchDuration.observe({ kind }, r.stats.elapsedMs / 1000);
      searchBytesRead.observe(r.stats.bytesRead);
      searchRowsExamined.observe(r.stats.rowsExamined);
      const base = `/api/certificate/`;
      return reply.send({
        count: r.rows.length,
        next_cursor: r.nextCursor,
        results: r.rows.map((row) => ({ ...row, der: undefined, der_link: `${base}${row.der}` })),
        stats: {
          table_version: r.stats.tableVersion,
          table_rows: r.stats.tableRows,
          files_in_table: r.stats.filesInTable,
          files_searched: r.stats.filesCandidate,
          rows_candidate: r.stats.rowsCandidate,
          rows_examined: r.stats.rowsExamined,
          bytes_read: r.stats.bytesRead,
          elapsed_ms: Number(r.stats.elapsedMs.toFixed(1)),
        },
      });
    } catch (err) {
      return sendError(reply, err, logger, kind);
    }
  });
  app.get<{ Params: { ref: string } }>("/api/certificate/:ref", async (request, reply) => {
    cors(reply);
    const ref = request.params.ref.replace(/\.der$/, "");
    try {
      const der = await search.certificateDer(ref);
      return reply
        .header("content-type", "application/pkix-cert")
        .header("content-disposition", "attachment; filename=certificate.der")
        .send(Buffer.from(der.buffer, der.byteOffset, der.byteLength));
    } catch (err) {
      if (err instanceof SearchParamError) {
        return reply.code(400).send({ error: "bad_parameter", parameter: "ref", message: err.message });
      }
      return sendError(reply, err, logger, "certificate");
    }
  });
}
