export { certLink } from "./cert-link.ts";
export { ChainJsonCache } from "./certificate-json.ts";
export type { MessageFormat } from "./message-format.ts";
export { messageFormats } from "./message-format.ts";
export type { RenderedMessages } from "./messages.ts";
export { renderDomainsOnly, renderFull, renderHeartbeat, renderLite, renderMessages } from "./messages.ts";
export type { PrecertSighting } from "./messages-v2.ts";
export { PrecertIndex, renderV2 } from "./messages-v2.ts";
