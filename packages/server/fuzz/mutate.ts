/**
 * Byte-level mutation of valid inputs, the way mutation fuzzers (AFL, libFuzzer) start from a
 * corpus: a valid packet or document is the seed, and a few edits turn it into the inputs a
 * parser is most likely to mishandle (a length off by one, a truncated field, a flipped flag
 * bit, a boundary value). Shrinking comes from fast-check, so a failure is reported small.
 */
import fc from 'fast-check';

/** Values that sit on the boundaries parsers test against. */
const SPECIAL = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x20, 0x2f, 0x23, 0x2b];

type Edit =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number }
  | { kind: 'truncate'; at: number };

const position = fc.nat({ max: 1 << 16 });

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: position,
    value: fc.oneof(fc.constantFrom(...SPECIAL), fc.nat({ max: 255 })),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: position,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    at: position,
    length: fc.integer({ min: 1, max: 32 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
);

function apply(input: Uint8Array, e: Edit): Uint8Array {
  if (input.length === 0) return e.kind === 'insert' ? e.bytes : input;
  const at = e.at % input.length;
  switch (e.kind) {
    case 'flip': {
      const out = Uint8Array.from(input);
      out[at] = out[at]! ^ (1 << e.bit);
      return out;
    }
    case 'set': {
      const out = Uint8Array.from(input);
      out[at] = e.value;
      return out;
    }
    case 'insert':
      return concat([input.subarray(0, at), e.bytes, input.subarray(at)]);
    case 'delete':
      return concat([input.subarray(0, at), input.subarray(at + e.length)]);
    case 'duplicate':
      return concat([input.subarray(0, at + e.length), input.subarray(at)]);
    case 'truncate':
      return input.subarray(0, at);
  }
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** `seed` as it is (about one time in five) or after one to four edits. */
export function mutated(seed: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      seed,
      fc.oneof(
        { weight: 1, arbitrary: fc.constant<Edit[]>([]) },
        { weight: 4, arbitrary: fc.array(edit, { minLength: 1, maxLength: 4 }) },
      ),
    )
    .map(([bytes, edits]) => edits.reduce(apply, bytes));
}

/** `bytes` cut at random points, as TCP may deliver it (one chunk about one time in three). */
export function chunked(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  if (bytes.length < 2 || cuts.length === 0) return [bytes];
  const points = [...new Set(cuts.map((c) => 1 + (c % (bytes.length - 1))))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

/** Cut points for {@link chunked}. */
export const cuts: fc.Arbitrary<number[]> = fc.oneof(
  fc.constant<number[]>([]),
  fc.array(fc.nat({ max: 1 << 16 }), { minLength: 1, maxLength: 8 }),
);

/**
 * How many whole MQTT packets `bytes` holds before its first malformed one: the figure a
 * packet-count target (F2's 1,000,000 packets) is measured in. Fixed header and remaining length
 * only; a packet whose body mqtt-packet would refuse still counts as sent.
 */
export function countPackets(bytes: Uint8Array): number {
  let n = 0;
  let at = 0;
  while (at < bytes.length) {
    let length = 0;
    let multiplier = 1;
    let i = at + 1;
    for (;;) {
      if (i >= bytes.length || multiplier > 128 ** 3) return n;
      const b = bytes[i++]!;
      length += (b & 0x7f) * multiplier;
      multiplier *= 128;
      if ((b & 0x80) === 0) break;
    }
    if (i + length > bytes.length) return n;
    at = i + length;
    n++;
  }
  return n;
}
