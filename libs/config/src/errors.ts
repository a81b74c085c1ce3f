/** A config problem, always naming the key (dotted path) and what is wrong with it. */
export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, problem: string) {
    super(`config key "${key}": ${problem}`);
    this.name = "ConfigError";
    this.key = key;
  }
}
