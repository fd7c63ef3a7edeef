/**
 * keepalived's `vrrp_sync_group`: instances that share their fate, e.g. an "outside" and an "inside" VIP that
 * must live on the same box. The rules, as keepalived applies them:
 * - FAULT: while any member has a fault of its own, every other member is in FAULT too (a fault cause
 *   `sync group G: MEMBER` is raised on them, and cleared when that member's own faults are gone);
 * - MASTER: when a member's Master_Down_Timer makes it MASTER, the others in BACKUP follow at once; and a
 *   member does not take over while a group-mate still hears a live master (its expiry is held);
 * - BACKUP: when a member yields to a higher priority, the others in MASTER follow.
 * The group's own state (for its notify hooks and FIFO lines) changes once every member has entered it, as
 * keepalived reports it: after the last member's own line.
 */
import type { Transition, VrrpState } from './fsm.js';

export const GROUP_FAULT_PREFIX = 'sync group ';

export function groupFaultCause(group: string, member: string): string {
  return `${GROUP_FAULT_PREFIX}${group}: ${member}`;
}

/** What the group needs of a member; `VrrpInstance` provides it. */
export interface SyncMember {
  readonly name: string;
  readonly state: VrrpState;
  readonly faults: readonly string[];
  hearsMaster(): boolean;
  follow(direction: 'group-master' | 'group-backup'): void;
  raiseFault(cause: string): void;
  clearFault(cause: string): void;
  onChange: ((transition: Transition | undefined) => void) | undefined;
  masterDownHeld: (() => boolean) | undefined;
}

export type GroupState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

function ownFaults(member: SyncMember): string[] {
  return member.faults.filter((cause) => !cause.startsWith(GROUP_FAULT_PREFIX));
}

/** The state the group as a whole is in, or `undefined` while its members disagree (a change in flight). */
export function groupStateOf(states: readonly VrrpState[]): GroupState | undefined {
  if (states.every((state) => state === 'FAULT')) return 'FAULT';
  if (states.every((state) => state === 'MASTER')) return 'MASTER';
  if (states.every((state) => state === 'BACKUP')) return 'BACKUP';
  if (states.every((state) => state === 'STOPPED')) return 'STOP';
  return undefined;
}

export class SyncGroup {
  private state: GroupState | undefined;
  /**
   * The state each member has finished entering (its entry effects and hooks queued): the group follows these,
   * not the members' state machines, which move before their effects run. Otherwise the group's line and hooks
   * would come before the last member's own (keepalived writes them after).
   */
  private readonly entered = new Map<SyncMember, VrrpState>();

  constructor(
    readonly name: string,
    private readonly members: readonly SyncMember[],
    private readonly onGroupState: (state: GroupState) => void = () => {},
  ) {
    for (const member of members) {
      member.onChange = (transition) => this.memberChanged(member, transition);
      member.masterDownHeld = () => this.members.some((other) => other !== member && other.hearsMaster());
    }
  }

  get groupState(): GroupState | undefined {
    return this.state;
  }

  private memberChanged(member: SyncMember, transition: Transition | undefined): void {
    const others = this.members.filter((other) => other !== member);
    // Any move of its own into MASTER (timer, address owner at startup or after a fault) takes the group along.
    if (transition?.to === 'MASTER' && transition.reason !== 'sync-group') {
      for (const other of others) if (other.state === 'BACKUP') other.follow('group-master');
    }
    if (
      transition?.from === 'MASTER' &&
      transition.to === 'BACKUP' &&
      transition.reason === 'higher-priority-advert'
    ) {
      for (const other of others) if (other.state === 'MASTER') other.follow('group-backup');
    }
    if (transition) this.entered.set(member, transition.to);
    this.reconcileFaults();
    if (this.entered.size < this.members.length) return;
    const state = groupStateOf(this.members.map((candidate) => this.entered.get(candidate) as VrrpState));
    if (state !== undefined && state !== this.state) {
      this.state = state;
      this.onGroupState(state);
    }
  }

  /** Every member carries one group fault cause per other member that has a fault of its own, and no other. */
  private reconcileFaults(): void {
    const faulty = this.members.filter((member) => ownFaults(member).length > 0).map((member) => member.name);
    for (const member of this.members) {
      const wanted = new Set(
        faulty.filter((name) => name !== member.name).map((name) => groupFaultCause(this.name, name)),
      );
      const present = member.faults.filter((cause) =>
        cause.startsWith(`${GROUP_FAULT_PREFIX}${this.name}: `),
      );
      for (const cause of wanted) if (!present.includes(cause)) member.raiseFault(cause);
      for (const cause of present) if (!wanted.has(cause)) member.clearFault(cause);
    }
  }
}
