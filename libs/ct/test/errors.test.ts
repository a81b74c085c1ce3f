import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CtError, CtParseError, ctParseErrorKinds, ctParseErrors } from "../src/errors.ts";

// Keeps the error table honest (fastify's test/internals/errors.test.js): count, code/kind agreement, uniqueness.
describe("the CT parse error table", () => {
  const codes = Object.keys(ctParseErrors) as (keyof typeof ctParseErrors)[];

  it("has the expected number of codes", () => {
    expect(codes.length).toBe(8);
    expect(ctParseErrorKinds.length).toBe(8);
  });

  it("each code is CT_ERR_ + its kind in upper case, and kinds are unique", () => {
    for (const code of codes) expect(code).toBe(`CT_ERR_${ctParseErrors[code].kind.toUpperCase()}`);
    expect(new Set(ctParseErrorKinds).size).toBe(ctParseErrorKinds.length);
  });

  it("each kind builds an error carrying its code, recognised by brand", () => {
    for (const code of codes) {
      const err = new CtParseError(ctParseErrors[code].kind, "m");
      expect(err.code).toBe(code);
      expect(err.retryable).toBe(false);
      expect(CtParseError.isCtParseError(err)).toBe(true);
      expect(CtError.isCtError(err)).toBe(true);
    }
    expect(CtParseError.isCtParseError(new Error("x"))).toBe(false);
    expect(CtError.isCtError({ code: "CT_ERR_X" })).toBe(false);
  });

  it("every code and kind is documented in PARSING.md", () => {
    const doc = readFileSync(new URL("../PARSING.md", import.meta.url), "utf8");
    for (const code of codes) expect(doc).toContain(`| ${code} | ${ctParseErrors[code].kind} |`);
  });
});
