// This node's usable interfaces as its plan and its heartbeat Lease see them, from the wire's one
// event-driven view (arp/announcer.ts), with removals held back by the answer grace.

/** The interfaces the plan and the Lease use. One that comes up counts at once; one that goes away counts
 *  only once it has stayed away for the answer grace, as a broken responder does (class Answering): a
 *  flap the wire repairs in place moves no address, a longer outage hands them over within the grace. */
export class SteadyInterfaces {
  private steady: readonly string[];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly read: () => readonly string[],
    private readonly graceMs: number,
    private readonly onChange: (names: readonly string[]) => void,
  ) {
    this.steady = [...read()].sort();
    onChange(this.steady);
  }

  readonly current = (): readonly string[] => this.steady;

  changed(): void {
    const now = this.read();
    const kept = [...new Set([...this.steady, ...now])].sort();
    this.set(kept);
    if (this.timer === undefined && kept.some((name) => !now.includes(name))) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.set([...this.read()].sort());
      }, this.graceMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private set(names: readonly string[]): void {
    if (names.join(',') === this.steady.join(',')) return;
    this.steady = names;
    this.onChange(names);
  }
}
