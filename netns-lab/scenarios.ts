/**
 * The failover scenarios a drill runs. Each one starts from a clean lab (no daemon, every link up), brings the
 * daemons up its way (`prepare`), does one thing to the lab at the event time (`act`), and says which balancer
 * must end as the only MASTER holding the VIP. Its bound is computed from the protocol (Skew_Time,
 * Master_Down_Interval of the balancer that must take over) plus the drill's stated margin: the largest gap
 * between two answers the client got must stay under it.
 *
 * Balancer 0 (b1) has the highest priority and is MASTER at the event unless the scenario says otherwise;
 * balancer 1 (b2) is the next in line.
 */
import { type Bound, type TimingParameters, masterDownIntervalMs, skewTimeMs } from './bounds.js';
import { HEALTH_FALL, HEALTH_INTERVAL_SECONDS } from './config.js';
import { now } from './clock.js';
import type { LabSession } from './session.js';
import { priorityOf } from './topology.js';

export interface ScenarioEvent {
  at: number;
  label: string;
}

export interface ActResult {
  /** Extra labelled moments for the report and the timeline. */
  events: ScenarioEvent[];
  /** Problems seen while acting (e.g. both balancers never became MASTER in a partition). */
  failures: string[];
  /** Count the client's gap from here instead of the event (when nothing answered before it). */
  measureFrom?: number;
}

export interface Scenario {
  name: string;
  /** One line for the table and the docs. */
  description: string;
  /** The balancer that must end as the only MASTER. */
  expectedMaster: number;
  /** No daemon may log a transition after the event (reload). */
  steady?: boolean;
  /**
   * A planned move by b1: when b1 runs tandem (make-before-break) the promise is that no request is lost, and
   * that replaces `bound`; `bound` is what keepalived's break-before-make gives.
   */
  lossless?: boolean;
  /** Acted out through a tandem command on b1: left out of drills where b1 runs keepalived. */
  needsTandem?: boolean;
  /** The largest client-visible gap allowed. */
  bound(parameters: TimingParameters, marginMs: number): Bound;
  /** Brings the daemons up; default: all of them, then waits for b1 as the sole MASTER. */
  prepare?(session: LabSession): Promise<void>;
  /** Does the scenario's thing; the event time is taken just before it is called. */
  act(session: LabSession, parameters: TimingParameters, marginMs: number): Promise<ActResult>;
}

const ms = (value: number) => `${Math.round(value)} ms`;

function skewBound(parameters: TimingParameters, marginMs: number, index = 1): Bound {
  const priority = priorityOf(index);
  const skew = skewTimeMs(priority, parameters);
  return { protocolMs: skew, marginMs, formula: `Skew_Time(${priority}) = ${ms(skew)}` };
}

function masterDownBound(
  parameters: TimingParameters,
  marginMs: number,
  index = 1,
  extraMs = 0,
  extraText = '',
): Bound {
  const priority = priorityOf(index);
  const down = masterDownIntervalMs(priority, parameters);
  return {
    protocolMs: down + extraMs,
    marginMs,
    formula: `${extraText}Master_Down_Interval(${priority}) = ${ms(down)}`,
  };
}

function advertBound(parameters: TimingParameters, marginMs: number): Bound {
  const interval = parameters.advertInterval * 1000;
  return { protocolMs: interval, marginMs, formula: `Advertisement_Interval = ${ms(interval)}` };
}

const nothing = (): ActResult => ({ events: [], failures: [] });

/** Waits until every instance on balancer `index` is in `state`; a failure names the states seen. */
async function reach(
  session: LabSession,
  index: number,
  state: string,
  timeoutMs: number,
): Promise<string | undefined> {
  const daemon = session.daemons[index];
  try {
    for (const instance of session.instances) await daemon?.waitForState(instance, state, timeoutMs);
    return undefined;
  } catch {
    return `${session.name(index)} never reached ${state} within ${ms(timeoutMs)} (states: ${JSON.stringify(session.states())})`;
  }
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'graceful-stop',
    description:
      'SIGTERM to the MASTER: priority 0, the backup takes over after Skew_Time; tandem keeps the VIP until then (no request lost)',
    expectedMaster: 1,
    lossless: true,
    bound: (parameters, marginMs) => skewBound(parameters, marginMs),
    async act(session) {
      await session.stopDaemon(0);
      return nothing();
    },
  },
  {
    name: 'planned-switchover',
    description:
      '`tandem switchover` on the MASTER: make-before-break to b2, b1 stays BACKUP behind it; no request lost',
    expectedMaster: 1,
    lossless: true,
    needsTandem: true,
    bound: (parameters, marginMs) => skewBound(parameters, marginMs),
    async act(session) {
      await session.switchover(0);
      return nothing();
    },
  },
  {
    name: 'crash',
    description:
      'SIGKILL to the MASTER and its cable pulled, as a dead box: takeover after Master_Down_Interval',
    expectedMaster: 1,
    bound: (parameters, marginMs) => masterDownBound(parameters, marginMs),
    async act(session) {
      await Promise.all([session.crashDaemon(0), session.cutLink(0)]);
      return nothing();
    },
  },
  {
    name: 'master-link-down',
    description:
      "the MASTER's own eth0 goes down: it goes FAULT, the backup takes over after Master_Down_Interval",
    expectedMaster: 1,
    bound: (parameters, marginMs) => masterDownBound(parameters, marginMs),
    async act(session) {
      await session.setLink(0, false);
      return nothing();
    },
  },
  {
    name: 'health-script-fails',
    description:
      "the MASTER's vrrp_script starts failing: FAULT within interval x fall, then the backup takes over",
    expectedMaster: 1,
    bound: (parameters, marginMs) =>
      masterDownBound(
        parameters,
        marginMs,
        1,
        HEALTH_INTERVAL_SECONDS * HEALTH_FALL * 1000,
        `script interval ${HEALTH_INTERVAL_SECONDS} s x fall ${HEALTH_FALL} + `,
      ),
    async act(session) {
      session.setHealth(0, false);
      return nothing();
    },
  },
  {
    name: 'preempt-back',
    description:
      'b1 returns while b2 is MASTER: b1 preempts, the client moves without a gap longer than one advert',
    expectedMaster: 0,
    bound: (parameters, marginMs) => advertBound(parameters, marginMs),
    async prepare(session) {
      await session.startDaemon(1);
      const failure = await reach(session, 1, 'MASTER', 15_000);
      if (failure) throw new Error(failure);
    },
    async act(session) {
      await session.startDaemon(0);
      return nothing();
    },
  },
  {
    name: 'partition',
    description:
      'VRRP dropped between the balancers (nftables at the bridge): both MASTER, then healed back to b1',
    expectedMaster: 0,
    // At the heal the first advert across decides: the lower box steps down, and the winner announces the VIP
    // again when it sees it yield (its release notice, or its adverts stopping), without garp_master_refresh.
    bound: (parameters, marginMs) => advertBound(parameters, marginMs),
    async act(session, parameters, marginMs) {
      await session.partition();
      const limit = masterDownIntervalMs(priorityOf(1), parameters) + marginMs;
      const failure = await reach(session, 1, 'MASTER', limit + 2000);
      const split = now();
      const failures = failure ? [`partition: ${failure}`] : [];
      // Hold the split brain for two advert rounds so both masters are seen at work.
      await new Promise((resolve) => setTimeout(resolve, 2 * parameters.advertInterval * 1000));
      const healAt = now();
      await session.heal();
      return {
        events: [
          { at: split, label: 'both MASTER' },
          { at: healAt, label: 'healed' },
        ],
        failures,
      };
    },
  },
  {
    name: 'link-flap',
    description:
      "b1's cable flaps 3 times (down and up for half a Master_Down_Interval each): b1 ends MASTER",
    expectedMaster: 0,
    bound: (parameters, marginMs) => masterDownBound(parameters, marginMs),
    async act(session, parameters) {
      const half = masterDownIntervalMs(priorityOf(1), parameters) / 2;
      const events = [];
      for (let flap = 0; flap < 3; flap++) {
        await session.cutLink(0);
        events.push({ at: now(), label: `down ${flap + 1}` });
        await new Promise((resolve) => setTimeout(resolve, half));
        await session.restoreLink(0);
        events.push({ at: now(), label: `up ${flap + 1}` });
        await new Promise((resolve) => setTimeout(resolve, half));
      }
      return { events, failures: [] };
    },
  },
  {
    name: 'simultaneous-start',
    description:
      'every daemon starts at once with nothing running: b1 MASTER within its Master_Down_Interval',
    expectedMaster: 0,
    bound: (parameters, marginMs) => masterDownBound(parameters, marginMs, 0),
    async prepare() {
      // Nothing runs before the event.
    },
    async act(session) {
      await session.startDaemons();
      // The daemons' own start-up (loading Node.js) is not the protocol's: the gap is counted from here.
      const started = now();
      return { events: [{ at: started, label: 'all started' }], failures: [], measureFrom: started };
    },
  },
  {
    name: 'reload',
    description:
      'SIGHUP to every daemon with the config rewritten, under load: no transition, no gap beyond the margin',
    expectedMaster: 0,
    steady: true,
    bound: (_parameters, marginMs) => ({ protocolMs: 0, marginMs, formula: 'no transition' }),
    async act(session, parameters) {
      session.reloadAll();
      // Let a few advert rounds pass so a reload that disturbed an instance would show.
      await new Promise((resolve) => setTimeout(resolve, 3 * parameters.advertInterval * 1000));
      return nothing();
    },
  },
];

export const SCENARIO_NAMES = SCENARIOS.map((scenario) => scenario.name);
