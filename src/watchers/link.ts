/**
 * Link watcher: the up/down state of named interfaces, from netlink link events (no polling). One per agent,
 * fed by the agent's one netlink subscription (`NetlinkEvents`), shared by every instance and every generation
 * of a reload, so an interface deleted and re-created is followed after any number of reloads.
 *
 * "Up" is keepalived's IF_FLAGS_UP (IFF_UP and IFF_RUNNING): administratively up, carrier present (lower_up)
 * and an RFC 2863 operational state of up or unknown (drivers that do not report operstate say unknown). An
 * interface that does not exist is down; when it is deleted and re-created under the same name, listeners
 * hear about it again with the new ifindex, so the agent can re-bind its sockets.
 */
import type { LinkInfo, RtNetlink } from '../actions/netlink.js';
import type { LinkChange, NetlinkEvents } from '../actions/netlink-events.js';
import type { Logger } from '../core/logger.js';

export interface LinkState {
  name: string;
  exists: boolean;
  up: boolean;
  /** The interface index while it exists. */
  ifindex: number | undefined;
}

export type LinkListener = (state: LinkState) => void;

/** keepalived's IF_FLAGS_UP: IFF_UP and IFF_RUNNING (which the kernel sets for operstate up or unknown). */
export function linkIsUp(link: LinkInfo): boolean {
  return link.up && link.lowerUp && (link.operstate === 'up' || link.operstate === 'unknown');
}

function stateOf(name: string, link: LinkInfo | undefined): LinkState {
  return link === undefined
    ? { name, exists: false, up: false, ifindex: undefined }
    : { name, exists: true, up: linkIsUp(link), ifindex: link.index };
}

function sameState(a: LinkState, b: LinkState): boolean {
  return a.exists === b.exists && a.up === b.up && a.ifindex === b.ifindex;
}

export class LinkWatcher {
  /** Every link of the namespace by index: a rename arrives as a new name on a known index. */
  private readonly links = new Map<number, LinkInfo>();
  private readonly listeners = new Map<string, Set<LinkListener>>();
  /** The last state told to the listeners of each tracked name. */
  private readonly reported = new Map<string, LinkState>();
  private unsubscribers: (() => void)[] = [];
  /** Events that arrive while a listing is in flight are replayed after it, in order. */
  private buffered: LinkChange[] | undefined;
  private resyncRunning: Promise<void> | undefined;
  private resyncAgain = false;
  private stopped = false;

  constructor(
    private readonly netlink: RtNetlink,
    private readonly events: NetlinkEvents,
    private readonly log?: Logger,
  ) {}

  /** Subscribes to link events, then reads every link; resolves once the state is known. */
  async start(): Promise<void> {
    this.stopped = false;
    this.unsubscribers = [
      this.events.onLink((event) => this.onEvent(event)),
      // ENOBUFS: events were dropped, so the state may have changed unseen; read it all again.
      this.events.onLost(() => {
        this.log?.warn({}, 'link events lost; reading every link again');
        void this.resync();
      }),
    ];
    await this.resync();
  }

  stop(): void {
    this.stopped = true;
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
  }

  /** The current state of the interface named `name`. */
  current(name: string): LinkState {
    return stateOf(name, this.byName(name));
  }

  /** The interface named `name` as last reported, or `undefined` while it does not exist. */
  link(name: string): LinkInfo | undefined {
    return this.byName(name);
  }

  /**
   * Calls `listener` whenever the state of `name` changes (existence, up, ifindex). It is not called with the
   * current state: read `current(name)` for that. Returns the unsubscribe function.
   */
  track(name: string, listener: LinkListener): () => void {
    let set = this.listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(name, set);
      this.reported.set(name, this.current(name));
    }
    set.add(listener);
    return () => {
      const listeners = this.listeners.get(name);
      listeners?.delete(listener);
      if (listeners?.size === 0) {
        this.listeners.delete(name);
        this.reported.delete(name);
      }
    };
  }

  private byName(name: string): LinkInfo | undefined {
    for (const link of this.links.values()) if (link.name === name) return link;
    return undefined;
  }

  private onEvent(event: LinkChange): void {
    if (this.stopped) return;
    if (this.buffered !== undefined) {
      this.buffered.push(event);
      return;
    }
    this.apply(event);
    this.notify();
  }

  private apply(event: LinkChange): void {
    if (event.action === 'new') {
      this.links.set(event.link.index, event.link);
      return;
    }
    // RTM_DELLINK also announces a port leaving a bridge (family AF_BRIDGE), which the adapter does not tell
    // apart from a deletion: ask the kernel whether the link is really gone.
    void this.resync();
  }

  /** Reads every link again; concurrent calls share one listing, and a call during a listing runs another. */
  private resync(): Promise<void> {
    if (this.resyncRunning !== undefined) {
      this.resyncAgain = true;
      return this.resyncRunning;
    }
    this.resyncRunning = (async () => {
      do {
        this.resyncAgain = false;
        this.buffered = [];
        try {
          const links = await this.netlink.listLinks();
          this.links.clear();
          for (const link of links) this.links.set(link.index, link);
        } catch (error) {
          this.log?.warn({ err: error }, 'could not list links; keeping the last known state');
        }
        const buffered = this.buffered;
        this.buffered = undefined;
        for (const event of buffered) {
          // A deletion seen during the listing may be newer than the listing: list once more.
          if (event.action === 'del') this.resyncAgain = true;
          else this.apply(event);
        }
      } while (this.resyncAgain && !this.stopped);
      this.resyncRunning = undefined;
      if (!this.stopped) this.notify();
    })();
    return this.resyncRunning;
  }

  private notify(): void {
    for (const [name, listeners] of this.listeners) {
      const state = this.current(name);
      const previous = this.reported.get(name);
      if (previous !== undefined && sameState(previous, state)) continue;
      this.reported.set(name, state);
      for (const listener of [...listeners]) listener(state);
    }
  }
}
