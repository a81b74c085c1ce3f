/** The three certificate streams: `/full-stream`, `/` (lite) and `/domains-only`. */
export type MessageFormat = "full" | "lite" | "domains";

export const messageFormats: readonly MessageFormat[] = ["full", "lite", "domains"];
