/**
 * One run at a time, and at most one more queued behind it. Requests that arrive while a run is in progress
 * share that one next run, which takes the latest request's argument: for work where only the latest result
 * matters, asked for by signals that may come in bursts (a dump per signal kind, a reload per SIGHUP).
 */
export class Coalesced<T> {
  #running: Promise<void> | undefined;
  /** The run queued behind the running one, with the argument of the latest request. */
  #queued: { argument: T; done: Promise<void> } | undefined;

  /** `work` is never run twice at once; a rejection ends that run only (the queued one still runs). */
  constructor(private readonly work: (argument: T) => Promise<void>) {}

  /** Whether a run is in progress. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** Asks for a run; resolves once a run that started after this request has finished (or failed). */
  request(argument: T): Promise<void> {
    const running = this.#running;
    if (running === undefined) return this.#start(argument);
    if (this.#queued !== undefined) {
      this.#queued.argument = argument;
      return this.#queued.done;
    }
    const entry: { argument: T; done: Promise<void> } = {
      argument,
      done: running.then((): Promise<void> => {
        this.#queued = undefined;
        return this.#start(entry.argument);
      }),
    };
    this.#queued = entry;
    return entry.done;
  }

  #start(argument: T): Promise<void> {
    let work: Promise<void>;
    try {
      // Started at once: what the work takes from the present (a dump's content) is taken at the request.
      work = this.work(argument);
    } catch (error) {
      work = Promise.reject(error as Error);
    }
    const run = work
      .catch(() => undefined)
      .finally(() => {
        this.#running = undefined;
      });
    this.#running = run;
    return run;
  }
}
