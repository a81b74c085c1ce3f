/**
 * The one line a terminal shows before the progress bars take over: what the job is doing right now and for how
 * long ("connecting to Kafka at 127.0.0.1:19092 … 3 s"), redrawn every second, so a wait is never silent. Off a
 * terminal it writes nothing: the structured log says the same.
 */
export class StatusLine {
  readonly #out: NodeJS.WriteStream;
  readonly #enabled: boolean;
  #text = "";
  #since = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(out: NodeJS.WriteStream, enabled = Boolean(out.isTTY)) {
    this.#out = out;
    this.#enabled = enabled;
  }

  /** Shows `text` at once and keeps its elapsed time current. */
  set(text: string): void {
    if (!this.#enabled) return;
    this.#text = text;
    this.#since = Date.now();
    this.#draw();
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#draw(), 1000);
      this.#timer.unref();
    }
  }

  /** Erases the line (before the bars, a summary or an error). */
  clear(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#enabled && this.#text) this.#out.write("\r\x1b[K");
    this.#text = "";
  }

  #draw(): void {
    const secs = Math.floor((Date.now() - this.#since) / 1000);
    const line = `backfill: ${this.#text} … ${secs} s`;
    const width = this.#out.columns || 100;
    this.#out.write(`\r\x1b[K${line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line}`);
  }
}
