/**
 * The pseudo-random numbers of `${_RANDOM}`: glibc's random() (the additive feedback generator of
 * srandom/random, TYPE_3: degree 31, separation 3), so that `random_seed N` gives the numbers keepalived
 * gives for the same seed. The algorithm is glibc's documented one (random_r.c: seed with 16807 multiplicative
 * congruence, discard 310 outputs, then r[k] = r[k-31] + r[k-3], output r[k] >> 1); the code is ours.
 */
const DEGREE = 31;
const SEPARATION = 3;
const DISCARD = 10 * DEGREE;

export class GlibcRandom {
  private readonly state = new Uint32Array(DEGREE);
  private front = SEPARATION;
  private rear = 0;

  /** `seed` as srandom(3) takes it: an unsigned int; 0 behaves as 1, as in glibc. */
  constructor(seed: number) {
    let word = seed >>> 0 === 0 ? 1 : seed | 0;
    this.state[0] = word;
    for (let i = 1; i < DEGREE; i++) {
      // 16807 * word % 2147483647 without overflowing 31 bits (Schrage's method, as glibc computes it).
      const hi = Math.trunc(word / 127773);
      const lo = word % 127773;
      word = 16807 * lo - 2836 * hi;
      if (word < 0) word += 2147483647;
      this.state[i] = word;
    }
    for (let i = 0; i < DISCARD; i++) this.next();
  }

  /** The next value of random(): 0 to 2^31 - 1. */
  next(): number {
    const sum = ((this.state[this.front] as number) + (this.state[this.rear] as number)) >>> 0;
    this.state[this.front] = sum;
    this.front = (this.front + 1) % DEGREE;
    this.rear = (this.rear + 1) % DEGREE;
    return sum >>> 1;
  }
}
