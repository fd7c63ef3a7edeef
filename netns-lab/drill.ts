/**
 * Runs scenarios on a lab and measures what the client saw: the largest gap between two answers (the
 * client-visible outage), requests answered twice (split brain seen by the client), who answered when, and
 * how long the client's neighbour entry for the VIP took to name the new MASTER. A scenario passes when the
 * gap stays within its bound and the lab ends with exactly one MASTER, holding the VIP, answering the client.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Bound, type TimingParameters, limitMs } from './bounds.js';
import type { Answer } from './client.js';
import { now } from './clock.js';
import { type PeerKind, daemonOf } from './daemons.js';
import { type Lab, withLab } from './netns.js';
import { type Scenario, type ScenarioEvent, SCENARIOS } from './scenarios.js';
import { LabSession } from './session.js';
import { type Family, vipOf } from './topology.js';
import { validateParameters } from './config.js';
import type { Usage } from './usage.js';

export interface DrillOptions {
  scenarios: string[];
  repeat: number;
  balancers: number;
  families: Family[];
  version: 2 | 3;
  advertInterval: number;
  /** `carp`: carp_instances instead of vrrp_instances (tandem only). */
  protocol?: 'vrrp' | 'carp';
  peer: PeerKind;
  /** Added to every protocol bound. */
  marginMs: number;
  probeIntervalMs: number;
  /** The parent of the lab's private directory (removed afterwards). */
  stateDirectory: string;
  /** Called after each scenario run (live progress). */
  onResult?: (result: ScenarioResult) => void;
  /** Called when a scenario run starts. */
  onStart?: (scenario: string, repeat: number) => void;
}

/** Who answered the client from when to when (answers closer than a few probe intervals merged). */
export interface AnswerSegment {
  balancer: string;
  family: Family;
  from: number;
  to: number;
}

export interface ScenarioResult {
  scenario: string;
  description: string;
  peer: PeerKind;
  repeat: number;
  passed: boolean;
  failures: string[];
  /** The largest gap between two answers, ms. */
  outageMs: number;
  /** Where that gap lies (same clock as `eventAt`). */
  outageFrom: number;
  outageTo: number;
  limitMs: number;
  bound: Bound;
  /** Requests answered more than once. */
  duplicates: number;
  /** Requests never answered, between the first and the last answered one of the window (every family). */
  lost: number;
  /** From the event until the client's neighbour entry for the VIP named the final MASTER (0: it already did). */
  neighbourMs: number | undefined;
  /** The balancer every instance ended MASTER on. */
  finalMaster: string | undefined;
  /** Answers per balancer in the window. */
  answeredBy: Record<string, number>;
  eventAt: number;
  windowStart: number;
  windowEnd: number;
  events: ScenarioEvent[];
  segments: AnswerSegment[];
}

export interface DrillReport {
  peer: PeerKind;
  version: 2 | 3;
  advertInterval: number;
  marginMs: number;
  families: Family[];
  balancers: number;
  startedAt: string;
  durationMs: number;
  results: ScenarioResult[];
  passed: boolean;
  /** CPU time of all daemon processes over the drill, and the largest peak RSS of one. */
  daemonUsage: Usage;
}

/** How long before the event the window (and the timeline) starts. */
const LEAD_IN_MS = 200;
/** How long the end state must hold (client answered by the final MASTER) before the window closes. */
const SETTLE_MS = 150;

export function selectScenarios(names: readonly string[]): Scenario[] {
  return names.map((name) => {
    const scenario = SCENARIOS.find((candidate) => candidate.name === name);
    if (!scenario)
      throw new Error(
        `unknown scenario ${name}; expected one of ${SCENARIOS.map((known) => known.name).join(', ')}`,
      );
    return scenario;
  });
}

/** Where the largest gap in `answers` (sorted by time) between `from` and `to` lies, counting the edges. */
export function largestGapSpan(
  answers: readonly Answer[],
  from: number,
  to: number,
): { from: number; to: number } {
  let previous = from;
  let largest = { from, to: from };
  for (const answer of answers) {
    if (answer.at < from) continue;
    if (answer.at > to) break;
    if (answer.at - previous > largest.to - largest.from) largest = { from: previous, to: answer.at };
    previous = answer.at;
  }
  return to - previous > largest.to - largest.from ? { from: previous, to } : largest;
}

/** The length of the largest gap in `answers` between `from` and `to`, counting the edges. */
export function largestGap(answers: readonly Answer[], from: number, to: number): number {
  const span = largestGapSpan(answers, from, to);
  return span.to - span.from;
}

export function segmentsOf(answers: readonly Answer[], joinMs: number): AnswerSegment[] {
  const segments: AnswerSegment[] = [];
  const open = new Map<string, AnswerSegment>();
  for (const answer of answers) {
    const key = `${answer.family}/${answer.balancer}`;
    const segment = open.get(key);
    if (segment && answer.at - segment.to <= joinMs) {
      segment.to = answer.at;
    } else {
      const fresh = { balancer: answer.balancer, family: answer.family, from: answer.at, to: answer.at };
      segments.push(fresh);
      open.set(key, fresh);
    }
  }
  return segments;
}

/** Requests of `answers` (one family) that were sent between the first and the last answered one and never answered. */
export function lostOf(answers: readonly Answer[]): number {
  if (answers.length === 0) return 0;
  // The window starts at the first answer in time. A probe sent before it can be answered inside it (the kernel
  // held it while the client's neighbour entry resolved): it is late, not a loss, and its number is not where the
  // window's probes start, so counting from it would call every probe in between lost.
  const first = answers.reduce((earliest, answer) => (answer.at < earliest.at ? answer : earliest));
  const seen = new Set(answers.filter((answer) => answer.seq >= first.seq).map((answer) => answer.seq));
  let highest = first.seq;
  for (const seq of seen) if (seq > highest) highest = seq;
  return highest - first.seq + 1 - seen.size;
}

function duplicatesOf(answers: readonly Answer[]): number {
  const seen = new Set<string>();
  let duplicates = 0;
  for (const answer of answers) {
    const key = `${answer.family}/${answer.seq}`;
    if (seen.has(key)) duplicates++;
    else seen.add(key);
  }
  return duplicates;
}

interface EndState {
  ok: boolean;
  problems: string[];
  master: string | undefined;
}

/** Exactly one running MASTER per instance (the expected one), holding the VIP, answering the client. */
async function endState(session: LabSession, expected: number, since: number): Promise<EndState> {
  const problems: string[] = [];
  const masters = new Set<string>();
  for (const [f, instance] of session.instances.entries()) {
    const family = session.topology.families[f] as Family;
    const running = session.daemons.flatMap((daemon, index) =>
      daemon?.running && daemon.state(instance) === 'MASTER' ? [index] : [],
    );
    if (running.length !== 1 || running[0] !== expected)
      problems.push(
        `${instance}: MASTER on [${running.map((index) => session.name(index)).join(', ')}], expected ${session.name(expected)}`,
      );
    for (const index of running) masters.add(session.name(index));
    // A cut-off box may still have the VIP configured; only boxes on the segment count.
    const holders = (await session.vipHolders(family)).filter((index) => session.reachable(index));
    if (holders.length !== 1 || holders[0] !== expected)
      problems.push(`${vipOf(family)} held by [${holders.map((index) => session.name(index)).join(', ')}]`);
    const recent = session.probe.answers.filter((answer) => answer.family === family && answer.at >= since);
    const last = recent.at(-1);
    if (!last || last.balancer !== session.name(expected) || now() - last.at > SETTLE_MS)
      problems.push(`client on ${vipOf(family)}: last answer from ${last?.balancer ?? 'nobody'}`);
  }
  return { ok: problems.length === 0, problems, master: masters.size === 1 ? [...masters][0] : undefined };
}

async function waitForEndState(
  session: LabSession,
  expected: number,
  since: number,
  timeoutMs: number,
): Promise<EndState> {
  const deadline = now() + timeoutMs;
  let state = await endState(session, expected, since);
  let heldSince = state.ok ? now() : undefined;
  while (now() < deadline) {
    if (state.ok && heldSince !== undefined && now() - heldSince >= SETTLE_MS) return state;
    await new Promise((resolve) => setTimeout(resolve, 25));
    state = await endState(session, expected, since);
    if (!state.ok) heldSince = undefined;
    else heldSince ??= now();
  }
  return state;
}

export async function runScenario(
  session: LabSession,
  scenario: Scenario,
  repeat: number,
  options: Pick<DrillOptions, 'marginMs' | 'version' | 'advertInterval' | 'protocol'>,
): Promise<ScenarioResult> {
  const parameters: TimingParameters = {
    version: options.version,
    advertInterval: options.advertInterval,
    ...(options.protocol ? { protocol: options.protocol } : {}),
  };
  // The balancer that hands over in a planned move is b1: its daemon decides what the client may see.
  const lossless = scenario.lossless === true && daemonOf(session.options.peer, 0) === 'tandem';
  const bound: Bound = lossless
    ? {
        protocolMs: 0,
        marginMs: options.marginMs,
        formula: 'make-before-break: 0 lost requests (the largest gap is shown, not bounded)',
      }
    : scenario.bound(parameters, options.marginMs);
  const limit = limitMs(bound);
  await session.reset();
  const failures: string[] = [];
  if (scenario.prepare) await scenario.prepare(session);
  else {
    await session.startDaemons();
    const initial = await waitForEndState(session, 0, 0, 20_000 + 10 * options.advertInterval * 1000);
    if (!initial.ok) throw new Error(`${scenario.name}: no stable start: ${initial.problems.join('; ')}`);
  }
  const eventAt = now();
  const acted = await scenario.act(session, parameters, options.marginMs);
  failures.push(...acted.failures);
  const end = await waitForEndState(
    session,
    scenario.expectedMaster,
    eventAt,
    limit + 10 * options.advertInterval * 1000 + 5000,
  );
  if (!end.ok) failures.push(`end state: ${end.problems.join('; ')}`);
  const windowEnd = now();
  const measureFrom = acted.measureFrom ?? eventAt;
  const windowStart = Math.min(eventAt, measureFrom) - LEAD_IN_MS;
  let outage = { from: measureFrom, to: measureFrom };
  for (const family of session.topology.families) {
    const answers = session.probe.answers.filter((answer) => answer.family === family);
    // The gap in progress at the event counts from the last answer before it.
    const before = answers.findLast((answer) => answer.at <= measureFrom);
    const from = acted.measureFrom !== undefined || !before ? measureFrom : before.at;
    const gap = largestGapSpan(answers, from, windowEnd);
    if (gap.to - gap.from > outage.to - outage.from) outage = gap;
  }
  const outageMs = outage.to - outage.from;
  // Lossless runs are judged by the requests lost: on a loaded machine the client's own scheduling makes gaps
  // between answers of a hundred milliseconds with nothing lost.
  if (!lossless && outageMs > limit)
    failures.push(
      `outage ${Math.round(outageMs)} ms > bound ${Math.round(limit)} ms (${bound.formula} + margin ${bound.marginMs} ms)`,
    );
  if (scenario.steady) {
    const moved = session.daemons.flatMap((daemon) =>
      (daemon?.transitions ?? [])
        .filter((transition) => transition.at >= eventAt)
        .map((transition) => `${daemon?.name} ${transition.instance} -> ${transition.state}`),
    );
    if (moved.length > 0) failures.push(`transitions after the event: ${moved.join(', ')}`);
  }
  const window = session.probe.between(windowStart, windowEnd);
  const lost = session.topology.families.reduce(
    (sum, family) => sum + lostOf(window.filter((answer) => answer.family === family)),
    0,
  );
  if (lossless && lost > 0) failures.push(`${lost} request(s) lost; make-before-break promises none`);
  const finalIndex = scenario.expectedMaster;
  const finalMac = session.topology.balancers[finalIndex]?.port.mac;
  let neighbourMs: number | undefined;
  for (const family of session.topology.families) {
    const vip = vipOf(family);
    const before = session.neighbours.changes.findLast(
      (change) => change.address === vip && change.at <= eventAt,
    );
    if (!finalMac) continue;
    const at =
      before?.mac === finalMac &&
      !session.neighbours.changes.some(
        (change) => change.address === vip && change.at > eventAt && change.mac !== finalMac,
      )
        ? eventAt
        : session.neighbours.changes.findLast(
            (change) => change.address === vip && change.mac === finalMac && change.at > eventAt,
          )?.at;
    if (at !== undefined) neighbourMs = Math.max(neighbourMs ?? 0, at - eventAt);
  }
  const answeredBy: Record<string, number> = {};
  for (const answer of window) answeredBy[answer.balancer] = (answeredBy[answer.balancer] ?? 0) + 1;
  const result: ScenarioResult = {
    scenario: scenario.name,
    description: scenario.description,
    peer: session.options.peer,
    repeat,
    passed: failures.length === 0,
    failures,
    outageMs,
    outageFrom: outage.from,
    outageTo: outage.to,
    limitMs: limit,
    bound,
    duplicates: duplicatesOf(window),
    lost,
    neighbourMs,
    finalMaster: end.master,
    answeredBy,
    eventAt,
    windowStart,
    windowEnd,
    events: [{ at: eventAt, label: scenario.name }, ...acted.events],
    segments: segmentsOf(window, Math.max(20, session.options.probeIntervalMs * 5)),
  };
  session.probe.forget(windowEnd);
  return result;
}

/** Builds a lab, runs every scenario `repeat` times, and always tears the lab down. */
export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const protocol = options.protocol ? { protocol: options.protocol } : {};
  validateParameters({
    version: options.version,
    advertInterval: options.advertInterval,
    families: options.families,
    ...protocol,
  });
  // A scenario only tandem can act out (a switchover command) is left out where b1 runs something else.
  const scenarios = selectScenarios(options.scenarios).filter(
    (scenario) => !scenario.needsTandem || daemonOf(options.peer, 0) === 'tandem',
  );
  const started = Date.now();
  const results: ScenarioResult[] = [];
  let daemonUsage: Usage = { cpuMs: 0, peakRssKb: 0 };
  await withLab(async (lab: Lab) => {
    const directory = join(options.stateDirectory, lab.id);
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    lab.onCleanup(() => rmSync(directory, { recursive: true, force: true }));
    const session = await LabSession.open(lab, {
      balancers: options.balancers,
      families: options.families,
      version: options.version,
      advertInterval: options.advertInterval,
      ...protocol,
      peer: options.peer,
      directory,
      probeIntervalMs: options.probeIntervalMs,
    });
    try {
      for (let repeat = 1; repeat <= options.repeat; repeat++) {
        for (const scenario of scenarios) {
          options.onStart?.(scenario.name, repeat);
          const result = await runScenario(session, scenario, repeat, options);
          results.push(result);
          options.onResult?.(result);
        }
      }
    } finally {
      await session.stopDaemons();
      daemonUsage = { ...session.usage };
      session.close();
    }
  });
  return {
    peer: options.peer,
    version: options.version,
    advertInterval: options.advertInterval,
    marginMs: options.marginMs,
    families: options.families,
    balancers: options.balancers,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    results,
    passed: results.every((result) => result.passed),
    daemonUsage,
  };
}
