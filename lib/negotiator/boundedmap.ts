/*!
 * boundedmap.ts - a Map that forgets its oldest entries past a size limit.
 *
 * Every map a peer can grow uses one, so no sequence of packets can make
 * memory grow without bound.
 */

export class BoundedMap<K, V> {
  readonly limit: number;
  private readonly map = new Map<K, V>();

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError('BoundedMap limit must be a positive integer.');
    this.limit = limit;
  }

  get size(): number {
    return this.map.size;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  /** Insert or replace as newest; evicts the oldest entries past the limit. */
  set(key: K, value: V): this {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.limit) {
      const oldest = this.map.keys().next();
      if (oldest.done)
        break;
      this.map.delete(oldest.value);
    }
    return this;
  }

  /** Mark as most recently used. */
  touch(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined)
      this.set(key, value);
    return value;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}
