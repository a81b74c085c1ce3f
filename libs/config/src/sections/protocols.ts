import { bool, section } from "../spec.ts";

export const protocols = section({
  websocket: bool(true),
  sse: bool(true),
  metrics: bool(true),
  health: bool(true),
  example_json: bool(true),
  api: bool(true),
});

export const streams = section({
  full: bool(true),
  lite: bool(true),
  domains_only: bool(true),
});
