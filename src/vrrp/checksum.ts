/**
 * The Internet checksum (RFC 1071): the 16-bit ones' complement of the ones' complement sum of the data,
 * taken as big-endian 16-bit words, an odd last byte padded with zero. Used by VRRPv2/v3, CARP and ICMPv6.
 */

/** Adds `data` to a running 32-bit ones' complement sum (carries folded at the end by `finishChecksum`). */
export function addToChecksum(sum: number, data: Uint8Array): number {
  let total = sum;
  const evenLength = data.length & ~1;
  for (let index = 0; index < evenLength; index += 2) {
    total += ((data[index] as number) << 8) | (data[index + 1] as number);
  }
  if (data.length !== evenLength) total += (data[evenLength] as number) << 8;
  // Fold early so the running sum never leaves the safe integer range, whatever the input size.
  while (total > 0xffff) total = (total & 0xffff) + (total >>> 16);
  return total;
}

/** Folds the carries of a running sum and complements it: the value to put in a checksum field. */
export function finishChecksum(sum: number): number {
  let total = sum;
  while (total > 0xffff) total = (total & 0xffff) + (total >>> 16);
  return ~total & 0xffff;
}

/** The checksum of the concatenation of `parts`; each part but the last must have an even length. */
export function internetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  for (const part of parts) sum = addToChecksum(sum, part);
  return finishChecksum(sum);
}
