import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../src/delivery/buffer-pool.ts';

describe('BufferPool', () => {
  it('lends a buffer of the asked length and reuses one given back', () => {
    const pool = new BufferPool(2);
    const first = pool.take(1000);
    expect(first.length).toBe(1000);
    first.fill(1);
    pool.give(first);
    const second = pool.take(1010); // within the headroom: the same memory
    expect(second.length).toBe(1010);
    expect(second.buffer).toBe(first.buffer);
  });

  it('does not hand out a buffer that is too small, and keeps at most `max`', () => {
    const pool = new BufferPool(1);
    const small = pool.take(10);
    pool.give(small);
    const large = pool.take(5000);
    expect(large.length).toBe(5000);
    expect(large.buffer).not.toBe(small.buffer);
    const a = pool.take(100);
    const b = pool.take(100);
    pool.give(a);
    pool.give(b); // over max: dropped
    expect(pool.take(100).buffer).toBe(a.buffer);
    expect(pool.take(100).buffer).not.toBe(b.buffer);
  });
});
