/*!
 * rerun.ts - a background job run one at a time: a kick during a run asks
 * for one more run after it (kicks coalesce), so a job driven by blocks
 * never runs twice at once and never misses the latest block.
 */

/** One job, run serially; errors go to `onError`, never to the kicker. */
export class Rerunner {
  private running: Promise<void> | null = null;
  private again = false;

  /**
   * @param job the work of one run
   * @param onError told of a run that threw (the next kick runs again)
   * @param stopped true once no further run may start (checked between runs)
   */
  constructor(private readonly job: () => Promise<void>, private readonly onError: (e: Error) => void,
    private readonly stopped: () => boolean = () => false) {}

  /** Run now (or once more after the run in progress). Never throws. */
  kick(): Promise<void> {
    if (this.running !== null) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.job();
        } catch (e) {
          this.onError(e as Error);
        }
      } while (this.again && !this.stopped());
      this.running = null;
    })();
    return this.running;
  }

  /** Resolves once no run is in progress (tests, shutdown). */
  async idle(): Promise<void> {
    let run = this.running;
    while (run !== null) {
      await run;
      run = this.running;
    }
  }
}
