// Ambient declarations for bufio 0.2.0 (the version bcoin 1.0.2 pins).

declare module 'bufio' {
  namespace bufio {
    class BufferReader {
      data: Buffer;
      offset: number;
      constructor(data: Buffer, zeroCopy?: boolean);
      left(): number;
      getSize(): number;
      seek(off: number): number;
      readU8(): number;
      readU16(): number;
      readU16BE(): number;
      readU32(): number;
      readU32BE(): number;
      readU64(): number;
      readU64BE(): number;
      readI8(): number;
      readI16(): number;
      readI32(): number;
      readI64(): number;
      readVarint(): number;
      readBytes(size: number, zeroCopy?: boolean): Buffer;
      readVarBytes(zeroCopy?: boolean): Buffer;
      readString(size: number, enc?: BufferEncoding): string;
      readString(enc: BufferEncoding, size: number): string;
      readHash(): Buffer;
      readHash(enc: 'hex'): string;
      readVarString(enc?: BufferEncoding, limit?: number): string;
    }

    interface Writer {
      render(): Buffer;
      slice(): Buffer;
      getSize(): number;
      writeU8(value: number): this;
      writeU16(value: number): this;
      writeU16BE(value: number): this;
      writeU32(value: number): this;
      writeU32BE(value: number): this;
      writeU64(value: number): this;
      writeU64BE(value: number): this;
      writeI8(value: number): this;
      writeI16(value: number): this;
      writeI32(value: number): this;
      writeI64(value: number): this;
      writeVarint(value: number): this;
      writeBytes(value: Buffer): this;
      writeVarBytes(value: Buffer): this;
      writeString(value: string, enc?: BufferEncoding): this;
      writeHash(value: Buffer | string): this;
      writeVarString(value: string, enc?: BufferEncoding): this;
      fill(value: number, size: number): this;
    }

    // Class + interface merge: StaticWriter has every Writer method.
    interface StaticWriter extends Writer {}
    class StaticWriter {
      constructor(size: number);
    }

    class Struct {
      getSize(extra?: unknown): number;
      write(bw: Writer, extra?: unknown): Writer;
      read(br: BufferReader, extra?: unknown): this;
      getJSON(): unknown;
      fromJSON(json: unknown, extra?: unknown): this;
      encode(extra?: unknown): Buffer;
      decode(data: Buffer, extra?: unknown): this;
      toRaw(extra?: unknown): Buffer;
      fromRaw(data: Buffer, extra?: unknown): this;
      toHex(extra?: unknown): string;
      fromHex(str: string, extra?: unknown): this;
      toJSON(): unknown;
      clone(): this;
      static read<T extends Struct>(this: new () => T, br: BufferReader, extra?: unknown): T;
      static decode<T extends Struct>(this: new () => T, data: Buffer, extra?: unknown): T;
      static fromRaw<T extends Struct>(this: new () => T, data: Buffer, extra?: unknown): T;
      static fromHex<T extends Struct>(this: new () => T, str: string, extra?: unknown): T;
      static fromJSON<T extends Struct>(this: new () => T, json: unknown, extra?: unknown): T;
    }

    class EncodingError extends Error {}

    function read(data: Buffer, zeroCopy?: boolean): BufferReader;
    function write(size: number): StaticWriter;
  }
  export = bufio;
}
