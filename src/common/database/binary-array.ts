/**
 * One-dimensional PostgreSQL arrays in the binary wire format (array_send's), for parameters the driver sends as
 * binary (it sends any Buffer or typed array so). PostgreSQL then takes each element by its length, without
 * parsing the text of a literal ('{…}', quotes, escapes) or of each element (a uuid's hex, an int8's digits, a
 * timestamp). Each array is a Buffer of its own (not a slice of Node's pool), so that a worker thread can
 * transfer it.
 */
type Nullable<T> = T | null | undefined;

/** How one element type is written: its type's oid, its size in bytes, and how its bytes are written. */
interface ElementType<T> {
  oid: number;
  size(value: T): number;
  /** Writes `value` (its size given) at `at`. */
  write(out: Buffer, at: number, value: T, size: number): void;
}

function binaryArray<T>(type: ElementType<T>, values: readonly Nullable<T>[]): Buffer {
  const count = values.length;
  // An empty array has no dimension: ndim 0, no nulls, the element type.
  const headerBytes = count === 0 ? 12 : 20;
  const sizes = new Int32Array(count);
  let total = headerBytes;
  let hasNulls = false;
  for (let i = 0; i < count; i++) {
    const value = values[i];
    if (value === null || value === undefined) {
      hasNulls = true;
      sizes[i] = -1;
      total += 4;
    } else {
      sizes[i] = type.size(value);
      total += 4 + sizes[i];
    }
  }
  const out = Buffer.allocUnsafeSlow(total);
  out.writeInt32BE(count === 0 ? 0 : 1, 0);
  out.writeInt32BE(hasNulls ? 1 : 0, 4);
  out.writeUInt32BE(type.oid, 8);
  if (count > 0) {
    out.writeInt32BE(count, 12);
    out.writeInt32BE(1, 16); // lower bound
  }
  let at = headerBytes;
  for (let i = 0; i < count; i++) {
    out.writeInt32BE(sizes[i], at);
    at += 4;
    if (sizes[i] >= 0) {
      type.write(out, at, values[i]!, sizes[i]);
      at += sizes[i];
    }
  }
  return out;
}

const TWO_TO_32 = 2 ** 32;
/** A 64-bit integer exact as a number (|n| < 2^53), as two 32-bit halves: no BigInt on the way. */
function writeInt64(out: Buffer, at: number, number: number): void {
  const high = Math.floor(number / TWO_TO_32);
  out.writeInt32BE(high, at);
  out.writeUInt32BE(number - high * TWO_TO_32, at + 4);
}
const INT8: ElementType<string | number | bigint> = {
  oid: 20,
  size: () => 8,
  write: (out, at, value) => {
    const number = Number(value);
    // A BigInt only beyond 2^53 (ids never are).
    if (typeof value === 'bigint' || !Number.isSafeInteger(number)) out.writeBigInt64BE(BigInt(value), at);
    else writeInt64(out, at, number);
  },
};
const INT4: ElementType<number> = {
  oid: 23,
  size: () => 4,
  write: (out, at, value) => out.writeInt32BE(value, at),
};
// A timestamptz travels as microseconds since PostgreSQL's epoch, 2000-01-01 UTC.
const POSTGRES_EPOCH_MS = 946_684_800_000;
const TIMESTAMPTZ: ElementType<Date> = {
  oid: 1184,
  size: () => 8,
  write: (out, at, value) => {
    const ms = value.getTime();
    if (!Number.isFinite(ms)) throw new TypeError('timestamptzArray: an invalid date');
    writeInt64(out, at, (ms - POSTGRES_EPOCH_MS) * 1000);
  },
};
// jsonb's binary form is a version byte (1) then the JSON text, which PostgreSQL parses as it would the literal.
const JSONB: ElementType<string> = {
  oid: 3802,
  size: (value) => 1 + Buffer.byteLength(value),
  write: (out, at, value, size) => {
    out[at] = 1;
    out.write(value, at + 1, size - 1, 'utf8');
  },
};
const TEXT: ElementType<string> = {
  oid: 25,
  size: (value) => Buffer.byteLength(value),
  // Most of them are ASCII (hashes, ids): written as one byte per character, the faster copy.
  write: (out, at, value, size) => out.write(value, at, size, size === value.length ? 'latin1' : 'utf8'),
};
// Each hex digit's value by its character code (-1: not one).
const HEX_DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_DIGIT['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_DIGIT['0123456789ABCDEF'.charCodeAt(i)] = i;
}
const hexDigit = (value: string, i: number) => {
  const code = value.charCodeAt(i);
  return code < 128 ? HEX_DIGIT[code] : -1;
};
const UUID: ElementType<string> = {
  oid: 2950,
  size: () => 16,
  // The 36-character form PostgreSQL gives: 8-4-4-4-12 hex digits.
  write: (out, at, value) => {
    if (value.length !== 36) throw new TypeError('uuidArray: not a uuid');
    for (let i = 0, byte = at; i < 36; i += 2) {
      if (i === 8 || i === 13 || i === 18 || i === 23) {
        if (value.charCodeAt(i) !== 45) throw new TypeError('uuidArray: not a uuid');
        i -= 1;
        continue;
      }
      const high = hexDigit(value, i);
      const low = hexDigit(value, i + 1);
      if (high < 0 || low < 0) throw new TypeError('uuidArray: not a uuid');
      out[byte++] = (high << 4) | low;
    }
  },
};

/** bigint[]: each element an integer, or its decimal text (as PostgreSQL gives a bigint back). */
export const int8Array = (values: readonly (string | number | bigint)[]): Buffer => binaryArray(INT8, values);
/** text[]: UTF-8, null for NULL. */
export const textArray = (values: readonly Nullable<string>[]): Buffer => binaryArray(TEXT, values);
/** uuid[]: each element in its usual text form (8-4-4-4-12 hex digits), null for NULL. */
export const uuidArray = (values: readonly Nullable<string>[]): Buffer => binaryArray(UUID, values);
/** integer[]: null for NULL. */
export const int4Array = (values: readonly Nullable<number>[]): Buffer => binaryArray(INT4, values);
/** timestamptz[]: to the millisecond a Date holds. */
export const timestamptzArray = (values: readonly Nullable<Date>[]): Buffer => binaryArray(TIMESTAMPTZ, values);
/** jsonb[]: each element JSON text, null for NULL. */
export const jsonbArray = (values: readonly Nullable<string>[]): Buffer => binaryArray(JSONB, values);
