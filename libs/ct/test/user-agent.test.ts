import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULT_USER_AGENT, userAgentFor } from "../src/user-agent.ts";

describe("userAgentFor", () => {
  const version = (
    JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
  ).version;

  it("names the project and its version by default, with no made-up URL", () => {
    expect(DEFAULT_USER_AGENT).toBe(`certstream-kafka/${version}`);
    expect(userAgentFor({ user_agent: "", contact: "" })).toBe(`certstream-kafka/${version}`);
  });

  it("carries the operator's contact when set", () => {
    expect(userAgentFor({ user_agent: "", contact: "ct-ops@example.org" })).toBe(
      `certstream-kafka/${version} (+ct-ops@example.org)`,
    );
  });

  it("sends a configured user_agent verbatim", () => {
    expect(userAgentFor({ user_agent: "acme-monitor/2", contact: "x@example.org" })).toBe("acme-monitor/2");
  });
});
