/**
 * Progress while a scenario runs: one line rewritten in place on a terminal, otherwise a line
 * every few seconds (CI logs and files stay short).
 */
export class Progress {
  private last = '';
  private lastPrinted = 0;
  /** Whether `last` is already on screen (non-terminal output prints each line once). */
  private shown = false;
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly everyMs = 2_000,
  ) {
    this.tty = out.isTTY === true;
  }

  /** Shows `text` now on a terminal, or when the last line is old enough otherwise. */
  update(text: string): void {
    if (text !== this.last) this.shown = false;
    this.last = text;
    const now = Date.now();
    if (this.tty) {
      if (now - this.lastPrinted < 100) return;
      this.lastPrinted = now;
      this.out.write(`\r\x1b[2K${text}`);
      return;
    }
    if (now - this.lastPrinted < this.everyMs) return;
    this.lastPrinted = now;
    this.shown = true;
    this.out.write(`${text}\n`);
  }

  /** Prints a line that stays (a phase started or ended). */
  log(text: string): void {
    if (this.tty && this.last !== '') this.out.write('\r\x1b[2K');
    this.out.write(`${text}\n`);
    this.last = '';
    this.lastPrinted = 0;
  }

  /** Ends the updating line. */
  finish(text?: string): void {
    if (text !== undefined && text !== this.last) {
      this.last = text;
      this.shown = false;
    }
    if (this.last === '') return;
    if (this.tty) this.out.write(`\r\x1b[2K${this.last}\n`);
    else if (!this.shown) this.out.write(`${this.last}\n`);
    this.last = '';
    this.shown = false;
    this.lastPrinted = 0;
  }
}
