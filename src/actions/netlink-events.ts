/**
 * The one rtnetlink event subscription of the process (links and addresses), parsed once and dispatched by key
 * to whoever cares: the link watcher gets link events, each VIP defender the events of its own addresses, a
 * source-address wait the events of its interface. Without it every MASTER opened its own subscription and
 * parsed every event: O(N^2) work for N instances in an address storm (docs/architecture.md, "Netlink").
 *
 * tandem's own deletions are marked: the VIP controllers announce a removal before making it
 * (`expectRemoval`), and the matching RTM_DELADDR is dispatched with `own: true`, so VIP restoration never
 * fights tandem itself (a release followed at once by a new claim, a stale-VIP clean-up at a reload).
 */
import type { Logger } from '../core/logger.js';
import { canonicalIp } from './inet.js';
import type { AddressInfo, LinkInfo, NetlinkEvent, NetlinkSubscription, RtNetlink } from './netlink.js';

export interface AddressChange {
  action: 'new' | 'del';
  address: AddressInfo;
  /** A deletion tandem itself announced with `expectRemoval`. */
  own: boolean;
}

export interface LinkChange {
  action: 'new' | 'del';
  link: LinkInfo;
}

type Listener<T> = (event: T) => void;

function addressKey(ifindex: number, address: string, prefixLength: number): string {
  return `${ifindex} ${address}/${prefixLength}`;
}

/** A set of listeners per key; removing the last listener of a key drops the key. */
class ListenerTable<K, T> {
  private readonly table = new Map<K, Set<Listener<T>>>();

  add(key: K, listener: Listener<T>): () => void {
    let set = this.table.get(key);
    if (set === undefined) {
      set = new Set();
      this.table.set(key, set);
    }
    set.add(listener);
    return () => {
      const listeners = this.table.get(key);
      listeners?.delete(listener);
      if (listeners?.size === 0) this.table.delete(key);
    };
  }

  emit(key: K, event: T): void {
    const listeners = this.table.get(key);
    if (listeners === undefined) return;
    for (const listener of [...listeners]) listener(event);
  }

  get size(): number {
    return this.table.size;
  }
}

export class NetlinkEvents {
  private subscription: NetlinkSubscription | undefined;
  private closed = false;
  private readonly links = new ListenerTable<'*', LinkChange>();
  private readonly linksByName = new ListenerTable<string, LinkChange>();
  private readonly byAddress = new ListenerTable<string, AddressChange>();
  private readonly byInterface = new ListenerTable<number, AddressChange>();
  private readonly lost = new ListenerTable<'*', Error>();
  /** Deletions tandem announced, by `ifindex address/prefix`, with how many are outstanding. */
  private readonly expectedRemovals = new Map<string, number>();
  /** Events dispatched, by kind: a number to compare with the kernel's, never a per-listener count. */
  readonly counters = { links: 0, addresses: 0, lost: 0 };

  constructor(
    private readonly netlink: RtNetlink,
    private readonly log?: Logger,
  ) {}

  /** Every link event (the agent's link watcher). */
  onLink(listener: Listener<LinkChange>): () => void {
    return this.listen(this.links.add('*', listener));
  }

  /** Link events of the interface named `name` (whatever its index). */
  onLinkNamed(name: string, listener: Listener<LinkChange>): () => void {
    return this.listen(this.linksByName.add(name, listener));
  }

  /** Address events of one address, on any interface. */
  onAddress(address: string, listener: Listener<AddressChange>): () => void {
    return this.listen(this.byAddress.add(canonicalIp(address), listener));
  }

  /** Address events of one interface index. */
  onInterfaceAddress(ifindex: number, listener: Listener<AddressChange>): () => void {
    return this.listen(this.byInterface.add(ifindex, listener));
  }

  /** The kernel dropped events (ENOBUFS): whoever keeps state from events must read it again. */
  onLost(listener: Listener<Error>): () => void {
    return this.listen(this.lost.add('*', listener));
  }

  /**
   * tandem is about to delete this address: its RTM_DELADDR is tandem's own. Returns the function that takes
   * the announcement back (call it when the deletion failed, so a later deletion from outside counts).
   */
  expectRemoval(ifindex: number, address: string, prefixLength: number): () => void {
    const key = addressKey(ifindex, canonicalIp(address), prefixLength);
    this.expectedRemovals.set(key, (this.expectedRemovals.get(key) ?? 0) + 1);
    let taken = false;
    return () => {
      if (taken) return;
      taken = true;
      this.consumeExpected(key);
    };
  }

  /** Ends the subscription; nothing is dispatched after. */
  close(): void {
    this.closed = true;
    this.subscription?.close();
    this.subscription = undefined;
  }

  /** Feeds one event as if it came from the kernel (the adapter calls this; so does a test). */
  dispatch(event: NetlinkEvent): void {
    if (this.closed) return;
    if (event.kind === 'link') {
      this.counters.links++;
      const change: LinkChange = { action: event.action, link: event.link };
      this.links.emit('*', change);
      this.linksByName.emit(event.link.name, change);
      return;
    }
    this.counters.addresses++;
    const { address } = event;
    const own =
      event.action === 'del' &&
      this.consumeExpected(addressKey(address.ifindex, address.address, address.prefixLength));
    const change: AddressChange = { action: event.action, address, own };
    this.byAddress.emit(address.address, change);
    this.byInterface.emit(address.ifindex, change);
  }

  private consumeExpected(key: string): boolean {
    const outstanding = this.expectedRemovals.get(key);
    if (outstanding === undefined) return false;
    if (outstanding <= 1) this.expectedRemovals.delete(key);
    else this.expectedRemovals.set(key, outstanding - 1);
    return true;
  }

  /** Opens the subscription with the first listener; returns `unsubscribe` unchanged. */
  private listen(unsubscribe: () => void): () => void {
    if (this.subscription === undefined && !this.closed) {
      this.subscription = this.netlink.subscribe({
        onEvent: (event) => this.dispatch(event),
        onError: (error) => {
          this.counters.lost++;
          // Announced deletions whose events may be among the lost ones would mark a later outside deletion as
          // tandem's own; the listeners re-read the state anyway.
          this.expectedRemovals.clear();
          this.log?.warn({ err: error }, 'netlink events lost; listeners read the state again');
          this.lost.emit('*', error);
        },
      });
    }
    return unsubscribe;
  }
}
