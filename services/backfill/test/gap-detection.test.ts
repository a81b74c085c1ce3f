import { describe, expect, it } from "vitest";
import {
  ArchiveIndex,
  type DataFileStats,
  decideFromStats,
  gapsForLog,
  WantedLogs,
  withoutPending,
} from "../src/gap-detection.ts";

function file(p: Partial<DataFileStats> & { path: string }): DataFileStats {
  return {
    numRecords: null,
    minIndex: null,
    maxIndex: null,
    minLog: null,
    maxLog: null,
    nullIndexCount: 0,
    ...p,
  };
}

describe("WantedLogs", () => {
  it("finds wanted keys within a string range", () => {
    const w = new WantedLogs(["c", "a", "e", "a"]);
    expect(w.keys).toEqual(["a", "c", "e"]);
    expect(w.within("b", "d")).toEqual(["c"]);
    expect(w.within(null, "c")).toEqual(["a", "c"]);
    expect(w.within("f", null)).toEqual([]);
    expect(w.within(null, null)).toEqual(["a", "c", "e"]);
  });
});

describe("decideFromStats", () => {
  const w = new WantedLogs(["L1", "L2"]);
  it("a single-log file spanning exactly numRecords indices is dense", () => {
    expect(
      decideFromStats(
        file({ path: "a", numRecords: 10, minIndex: 100, maxIndex: 109, minLog: "L1", maxLog: "L1" }),
        w,
      ),
    ).toEqual({ kind: "dense", log: "L1", range: { start: 100, end: 110 } });
  });
  it("a single-log file with fewer rows than its span must be read", () => {
    expect(
      decideFromStats(
        file({ path: "a", numRecords: 9, minIndex: 100, maxIndex: 109, minLog: "L1", maxLog: "L1" }),
        w,
      ).kind,
    ).toBe("read");
  });
  it("mixed files, files without stats and files with null indices must be read", () => {
    expect(
      decideFromStats(
        file({ path: "a", numRecords: 2, minIndex: 1, maxIndex: 2, minLog: "L1", maxLog: "L2" }),
        w,
      ).kind,
    ).toBe("read");
    expect(decideFromStats(file({ path: "a" }), w).kind).toBe("read");
    expect(
      decideFromStats(
        file({
          path: "a",
          numRecords: 2,
          minIndex: 1,
          maxIndex: 2,
          minLog: "L1",
          maxLog: "L1",
          nullIndexCount: 1,
        }),
        w,
      ).kind,
    ).toBe("read");
  });
  it("files holding no wanted log and empty files are skipped", () => {
    expect(decideFromStats(file({ path: "a", minLog: "M", maxLog: "Z", numRecords: 3 }), w).kind).toBe(
      "skip-other-logs",
    );
    expect(decideFromStats(file({ path: "a", numRecords: 0 }), w).kind).toBe("skip-other-logs");
  });
});

describe("ArchiveIndex + gapsForLog", () => {
  it("combines dense files and read rows, skips covered files, finds holes", () => {
    const idx = new ArchiveIndex(["L1", "L2"]);
    const toRead = idx.planFiles([
      file({ path: "d1", numRecords: 100, minIndex: 0, maxIndex: 99, minLog: "L1", maxLog: "L1" }),
      file({ path: "d2", numRecords: 50, minIndex: 150, maxIndex: 199, minLog: "L1", maxLog: "L1" }),
      // mixed, but L1 [10, 20] covered by d1 and L2 has no bitmap yet -> must read
      file({ path: "m1", numRecords: 4, minIndex: 10, maxIndex: 20, minLog: "L1", maxLog: "L2" }),
      // only L1 possible, fully covered by d1 -> skipped
      file({ path: "m2", numRecords: 3, minIndex: 10, maxIndex: 20, minLog: "L0", maxLog: "L1" }),
      file({ path: "x", numRecords: 3, minIndex: 10, maxIndex: 20, minLog: "X", maxLog: "Y" }),
    ]);
    expect(toRead.map((f) => f.path)).toEqual(["m1"]);
    expect(idx.stats.dense).toEqual({ files: 2, rows: 150 });
    expect(idx.stats.skippedCovered).toEqual({ files: 1, rows: 3 });
    expect(idx.stats.skippedOtherLogs).toEqual({ files: 1, rows: 3 });
    idx.addRows(["L1", "L2", "L2", "Z", "L2", null], [10n, 10n, 12, 5, 20, 1]);
    idx.noteRead(6);
    expect(idx.stats.badRows).toBe(1);

    const g1 = gapsForLog(idx, "L1", { from: null, ingesterPosition: null });
    expect(g1.domain).toEqual({ start: 0, end: 200 });
    expect(g1.gaps).toEqual([{ start: 100, end: 150 }]);
    expect(g1.missing).toBe(50);
    expect(g1.duplicates).toBe(1);
    expect(g1.upperBound).toBe("table");

    const g2 = gapsForLog(idx, "L2", { from: null, ingesterPosition: null });
    expect(g2.gaps).toEqual([
      { start: 11, end: 12 },
      { start: 13, end: 20 },
    ]);
  });

  it("--from extends the domain below the lowest index up to the ingester position", () => {
    const idx = new ArchiveIndex(["L"]);
    idx.addRows(["L", "L", "L"], [10, 11, 13]);
    expect(gapsForLog(idx, "L", { from: 5, ingesterPosition: 20 }).gaps).toEqual([
      { start: 5, end: 10 },
      { start: 12, end: 13 },
      { start: 14, end: 20 },
    ]);
    expect(gapsForLog(idx, "L", { from: 5, ingesterPosition: null }).gaps).toEqual([
      { start: 5, end: 10 },
      { start: 12, end: 13 },
    ]);
    // --from above the lowest index starts there
    expect(gapsForLog(idx, "L", { from: 12, ingesterPosition: null }).gaps).toEqual([{ start: 12, end: 13 }]);
  });

  it("never reaches the ingester's position in catch-up mode", () => {
    const idx = new ArchiveIndex(["L"]);
    idx.addRows(["L", "L", "L"], [0, 5, 9]);
    const g = gapsForLog(idx, "L", { from: null, ingesterPosition: 4 });
    expect(g.domain).toEqual({ start: 0, end: 4 });
    expect(g.upperBound).toBe("ingester");
    expect(g.gaps).toEqual([{ start: 1, end: 4 }]);
  });

  it("a log with nothing archived has no domain without --from", () => {
    const idx = new ArchiveIndex(["L"]);
    expect(gapsForLog(idx, "L", { from: null, ingesterPosition: 100 }).gaps).toEqual([]);
    expect(gapsForLog(idx, "L", { from: 90, ingesterPosition: 100 }).gaps).toEqual([{ start: 90, end: 100 }]);
    expect(gapsForLog(idx, "L", { from: 90, ingesterPosition: null }).gaps).toEqual([]);
  });

  it("withoutPending removes what is already on its way", () => {
    const idx = new ArchiveIndex(["L"]);
    idx.addRows(["L", "L"], [0, 10]);
    const g = gapsForLog(idx, "L", { from: null, ingesterPosition: null });
    const h = withoutPending(g, [{ start: 3, end: 5 }]);
    expect(h.gaps).toEqual([
      { start: 1, end: 3 },
      { start: 5, end: 10 },
    ]);
    expect(h.missing).toBe(7);
  });
});
