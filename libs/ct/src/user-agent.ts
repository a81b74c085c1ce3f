import { readFileSync } from "node:fs";

// CT log operators ask monitors to say who they are and how to reach them (the User-Agent is the only place a
// log operator sees), so the default names the project and its version, and carries the operator's contact
// when `ct_log.contact` is set.

/** The project's name as CT log operators see it in the User-Agent. */
export const PROJECT_NAME = "certstream-kafka";

/** The version of this package (all workspace packages share one version). */
export const PROJECT_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** `certstream-kafka/0.1.0`: the User-Agent when neither `user_agent` nor `contact` is configured. */
export const DEFAULT_USER_AGENT = `${PROJECT_NAME}/${PROJECT_VERSION}`;

/**
 * The User-Agent sent to CT logs: `ct_log.user_agent` verbatim when set (certstream-server-rust's key),
 * otherwise `certstream-kafka/<version>`, followed by ` (+<contact>)` when `ct_log.contact` is set
 * (an e-mail address or a URL where the operator of this deployment can be reached).
 */
export function userAgentFor(settings: { user_agent?: string; contact?: string }): string {
  if (settings.user_agent) return settings.user_agent;
  const contact = settings.contact?.trim();
  return contact ? `${DEFAULT_USER_AGENT} (+${contact})` : DEFAULT_USER_AGENT;
}
