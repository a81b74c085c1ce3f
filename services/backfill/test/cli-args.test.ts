import { describe, expect, it } from "vitest";
import { matchesLogFilter, parseArgs, UsageError } from "../src/cli-args.ts";

describe("parseArgs", () => {
  it("defaults to catch-up over every log", () => {
    expect(parseArgs([])).toEqual({
      from: null,
      logs: [],
      dryRun: false,
      wait: false,
      help: false,
      config: null,
      validateConfig: false,
    });
  });

  it("parses every option, in both --x v and --x=v forms", () => {
    const a = parseArgs([
      "--from",
      "42",
      "--logs",
      "argon, xenon",
      "--logs=nimbus",
      "--wait",
      "--config=c.yaml",
    ]);
    expect(a.from).toBe(42);
    expect(a.logs).toEqual(["argon", "xenon", "nimbus"]);
    expect(a.wait).toBe(true);
    expect(a.config).toBe("c.yaml");
    expect(parseArgs(["--from=0", "--dry-run"])).toMatchObject({ from: 0, dryRun: true });
    expect(parseArgs(["-h"]).help).toBe(true);
  });

  it.each([
    [["--from"], "--from: needs a value"],
    [["--from", "-1"], "--from: must be a non-negative integer"],
    [["--from", "abc"], '--from: must be a non-negative integer, got "abc"'],
    [["--from", "1.5"], "--from: must be a non-negative integer"],
    [["--from", "99999999999999999999"], "--from: must be a non-negative integer"],
    [["--from", "1", "--from", "2"], "--from: given twice"],
    [["--logs", ","], "--logs: needs at least one non-empty term"],
    [["--logs", "--wait"], "--logs: needs a value"],
    [["--wait=yes"], "--wait: takes no value"],
    [["--bogus"], "--bogus: unknown option"],
    [["extra"], "extra: unexpected argument"],
    [["--dry-run", "--wait"], "--wait: makes no sense with --dry-run"],
  ])("%j is refused with a message naming the argument", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe("matchesLogFilter", () => {
  const log = {
    name: "Google 'Argon2026h1' log",
    id: "DleUvPOuqT4zGyyZB7P3kN+bwj1xMiXdIaklrGHFTiE=",
    url: "https://ct.googleapis.com/logs/us1/argon2026h1/",
    operator: "Google",
  };
  it("matches name, id, url or operator case-insensitively", () => {
    expect(matchesLogFilter(log, [])).toBe(true);
    expect(matchesLogFilter(log, ["ARGON2026"])).toBe(true);
    expect(matchesLogFilter(log, ["DleUvPOuqT4z"])).toBe(true);
    expect(matchesLogFilter(log, ["googleapis.com/logs/us1"])).toBe(true);
    expect(matchesLogFilter(log, ["xenon", "google"])).toBe(true);
    expect(matchesLogFilter(log, ["xenon", "cloudflare"])).toBe(false);
  });
});
