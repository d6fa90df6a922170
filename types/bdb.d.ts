// Ambient declarations for bdb 0.2.3 (the version bcoin 1.0.2 pins).

declare module 'bdb' {
  namespace bdb {
    interface IteratorOptions {
      gt?: Buffer;
      gte?: Buffer;
      lt?: Buffer;
      lte?: Buffer;
      limit?: number;
      reverse?: boolean;
      keys?: boolean;
      values?: boolean;
    }

    interface RangeOptions<T> extends IteratorOptions {
      parse?: (key: Buffer, value: Buffer) => T;
    }

    interface KeysOptions<T> extends IteratorOptions {
      parse?: (key: Buffer) => T;
    }

    interface ValuesOptions<T> extends IteratorOptions {
      parse?: (value: Buffer) => T;
    }

    interface Batch {
      put(key: Buffer, value: Buffer): this;
      del(key: Buffer): this;
      write(): Promise<void>;
      clear(): this;
    }

    class DB {
      loaded: boolean;
      open(): Promise<void>;
      close(): Promise<void>;
      get(key: Buffer): Promise<Buffer | null>;
      has(key: Buffer): Promise<boolean>;
      put(key: Buffer, value: Buffer): Promise<void>;
      del(key: Buffer): Promise<void>;
      batch(): Batch;
      range<T = { key: Buffer; value: Buffer }>(options?: RangeOptions<T>): Promise<T[]>;
      keys<T = Buffer>(options?: KeysOptions<T>): Promise<T[]>;
      values<T = Buffer>(options?: ValuesOptions<T>): Promise<T[]>;
      verify(key: Buffer, name: string, version: number): Promise<void>;
    }

    class Key {
      id: number;
      build(...args: unknown[]): Buffer;
      parse(key: Buffer): unknown;
      min(...args: unknown[]): Buffer;
      max(...args: unknown[]): Buffer;
      root(): Buffer;
    }

    function create(options: {
      memory?: boolean;
      location?: string;
      cacheSize?: number;
      maxFiles?: number;
      compression?: boolean;
    }): DB;

    function key(id: string | number, ops?: string[]): Key;
  }
  export = bdb;
}
