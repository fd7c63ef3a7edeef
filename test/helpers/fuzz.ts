/**
 * Inputs for decoder fuzzing: deterministic, so a failure reproduces from the seed alone.
 *
 *   const next = xorshift32(0x2545f491);
 *   for (let run = 0; run < 100_000; run++) decode(fuzzInput(run, seeds, next, { maxRandomLength: 200 }));
 */

/** xorshift32: a tiny deterministic generator of unsigned 32-bit numbers. */
export function xorshift32(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}

export interface FuzzOptions {
  /** Every fourth input is random bytes, up to this length (exclusive). */
  maxRandomLength: number;
  /** An extended input gets up to this many zero bytes (exclusive) appended. */
  maxExtension: number;
  /** Applied after the byte changes, before cutting or extending (e.g. make a checksum right again). */
  repair?: (buf: Uint8Array, run: number) => void;
}

/**
 * The input of fuzz run `run`: every fourth one random bytes; the others a seed (taken in turn) with one to four
 * bytes changed, every seventh one cut short and every eleventh one extended, so that the checks behind the
 * first ones are reached too.
 */
export function fuzzInput(
  run: number,
  seeds: readonly Uint8Array[],
  next: () => number,
  options: FuzzOptions,
): Uint8Array {
  if (run % 4 === 0) {
    const buf = new Uint8Array(next() % options.maxRandomLength);
    for (let index = 0; index < buf.length; index++) buf[index] = next() & 0xff;
    return buf;
  }
  let buf = new Uint8Array(seeds[run % seeds.length] as Uint8Array);
  const flips = 1 + (next() % 4);
  for (let flip = 0; flip < flips; flip++) buf[next() % buf.length] = next() & 0xff;
  options.repair?.(buf, run);
  if (run % 7 === 0) buf = buf.subarray(0, next() % (buf.length + 1));
  if (run % 11 === 0) buf = new Uint8Array([...buf, ...new Uint8Array(next() % options.maxExtension)]);
  return buf;
}
