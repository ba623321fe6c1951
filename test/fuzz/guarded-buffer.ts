/**
 * A byte array that throws on any index outside one frame, so a decoder that reads past its
 * frame (or before it) is caught even though plain typed arrays would quietly yield `undefined`.
 * Slow; for tests only.
 */
export function guardedFrame(bytes: Uint8Array, pad = 16): { buf: Uint8Array; off: number } {
  const backing = new Uint8Array(bytes.length + 2 * pad).fill(0xaa);
  backing.set(bytes, pad);
  const lo = pad;
  const hi = pad + bytes.length;
  const buf = new Proxy(backing, {
    get(target, key) {
      if (typeof key === 'string' && key.length > 0 && key.charCodeAt(0) >= 48 && key.charCodeAt(0) <= 57) {
        const i = Number(key);
        if (Number.isInteger(i)) {
          if (i < lo || i >= hi) throw new RangeError(`read of byte ${i - lo} outside a ${bytes.length}-byte frame`);
          return target[i];
        }
      }
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { buf, off: lo };
}
