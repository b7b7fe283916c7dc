import { int4Array, int8Array, jsonbArray, textArray, timestamptzArray, uuidArray } from './binary-array';

describe('binary arrays', () => {
  it('writes one dimension, the has-nulls flag, the element type, the length and lower bound 1, then each element by its length', () => {
    const text = textArray(['ab', null, 'é']);
    expect([...text.subarray(0, 20)]).toEqual([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 25, 0, 0, 0, 3, 0, 0, 0, 1]);
    expect(text.subarray(20).toString('hex')).toBe(`00000002${Buffer.from('ab').toString('hex')}ffffffff00000002c3a9`);
    expect(textArray(['x']).readInt32BE(4)).toBe(0);
  });

  it('writes int8 big-endian from numbers and from decimal text, beyond 2^53 too', () => {
    const ids = int8Array(['1', 2, '9223372036854775807', -5, 2 ** 40 + 3, -(2 ** 40) - 3]);
    expect(ids.readUInt32BE(8)).toBe(20);
    expect(ids.readBigInt64BE(24)).toBe(1n);
    expect(ids.readBigInt64BE(36)).toBe(2n);
    expect(ids.readBigInt64BE(48)).toBe(9223372036854775807n);
    expect([60, 72, 84].map((at) => ids.readBigInt64BE(at))).toEqual([-5n, 2n ** 40n + 3n, -(2n ** 40n) - 3n]);
    expect(ids.length).toBe(20 + 6 * 12);
  });

  it('writes a uuid as its 16 bytes and refuses what is not one', () => {
    const partners = uuidArray(['0b8f1c44-3333-4333-8333-000000000003', null]);
    expect(partners.readUInt32BE(8)).toBe(2950);
    expect(partners.subarray(24, 40).toString('hex')).toBe('0b8f1c44333343338333000000000003');
    expect(partners.readInt32BE(40)).toBe(-1);
    expect(() => uuidArray(['0b8f1c44-3333-4333-8333-00000000000z'])).toThrow(TypeError);
    expect(() => uuidArray(['0b8f1c44'])).toThrow(TypeError);
    expect(() => uuidArray(['0b8f1c44+3333-4333-8333-000000000003'])).toThrow(TypeError);
    expect(() => uuidArray(['0b8f1c44-3333-4333-8333-00000000000é'])).toThrow(TypeError);
  });

  it('writes a timestamptz as microseconds since 2000-01-01 UTC, before it too, and refuses an invalid date', () => {
    const times = timestamptzArray([new Date('2000-01-01T00:00:00.001Z'), new Date('1999-12-31T23:59:59.999Z'), null]);
    expect(times.readUInt32BE(8)).toBe(1184);
    expect(times.readInt32BE(4)).toBe(1);
    expect(times.readBigInt64BE(24)).toBe(1000n);
    expect(times.readBigInt64BE(36)).toBe(-1000n);
    expect(times.readInt32BE(44)).toBe(-1);
    expect(() => timestamptzArray([new Date('not a date')])).toThrow(TypeError);
  });

  it('writes int4 and jsonb (its version byte, then the text)', () => {
    const ints = int4Array([200, null, -1]);
    expect([ints.readUInt32BE(8), ints.readInt32BE(24), ints.readInt32BE(28), ints.readInt32BE(36)]).toEqual([23, 200, -1, -1]);
    const json = jsonbArray(['{"é":1}']);
    expect(json.readUInt32BE(8)).toBe(3802);
    expect(json.readInt32BE(20)).toBe(1 + Buffer.byteLength('{"é":1}'));
    expect(json.subarray(24).toString('hex')).toBe(`01${Buffer.from('{"é":1}').toString('hex')}`);
  });

  it('writes an empty array without a dimension', () => {
    expect([...textArray([])]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25]);
  });

  it('gives each array a memory of its own, which a worker thread can transfer', () => {
    const small = textArray(['a']);
    expect(small.byteOffset).toBe(0);
    expect(small.buffer.byteLength).toBe(small.length);
  });
});
