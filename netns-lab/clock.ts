/** Epoch milliseconds with sub-millisecond resolution, comparable across the lab's processes on one host. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
