export * from "./certificate-cache.ts";
export * from "./clients.ts";
export * from "./entry.ts";
export * from "./errors.ts";
export * from "./leaf.ts";
export * from "./parse-entry.ts";
export * from "./tls-reader.ts";
export * from "./x509-certificate.ts";
