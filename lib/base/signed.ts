/*!
 * signed.ts - the base of every signed wire object.
 *
 * A signed object is its unsigned encoding followed by a 64-byte compact
 * signature over TH(tag, prefix || unsigned encoding) (lib/base/hash.ts),
 * where the prefix binds context that is not in the object (the network
 * magic, a hello challenge). A subclass gives the tag, the unsigned layout
 * (getUnsignedSize, writeUnsigned, readUnsigned) and, where the object
 * names its signer (`from`, `publicKey`, `hostKey`), the signer key; sign,
 * verify, the full layout and the strict decode come from here, so the
 * wire format of every signed object is the same shape (PROTOCOL 1).
 */

import bio = require('bufio');
import { SIG_SIZE, ZERO_SIG } from './consts';
import { signingHash, signingPreimage, type UnsignedEncoding } from './hash';
import { verifyIdentityMessage } from './identity';
import { checkEnd, readFixed } from './wire';

/** Anything that can sign a 32-byte hash (lib/base/identity.ts Identity). */
export interface Signer {
  readonly publicKey: Buffer;
  sign(hash: Buffer): Buffer;
}

/**
 * A bio.Struct whose `decode` (instance and static) takes the whole buffer
 * and rejects trailing bytes with PacketError `trailing-bytes`.
 */
export abstract class StrictStruct extends bio.Struct {
  decode(data: Buffer): this {
    const br = bio.read(data);
    this.read(br);
    checkEnd(br);
    return this;
  }
}

/** A wire object signed by an identity key: unsigned fields, then `sig`. */
export abstract class SignedStruct extends StrictStruct implements UnsignedEncoding {
  /** Compact signature (r || s, low S); zero until signed. */
  sig: Buffer = ZERO_SIG;

  /** Tag of the signature's tagged hash (lib/base/hash.ts `tags`). */
  abstract get tag(): string;

  /** Exact size of the unsigned encoding, in bytes. */
  abstract getUnsignedSize(): number;
  /** Every field but `sig`, in wire order. */
  abstract writeUnsigned(bw: bio.Writer): bio.Writer;
  /** Read every field but `sig` with the checked readers (lib/base/wire.ts). */
  abstract readUnsigned(br: bio.BufferReader): void;

  /**
   * The key this object names as its signer, or null when the verifier
   * must know it from context (a response's server, a receipt's host).
   */
  signerKey(): Buffer | null {
    return null;
  }

  /** Record the signer's key in the object, where it names one. */
  protected setSignerKey(_key: Buffer): void {}

  getSize(): number {
    return this.getUnsignedSize() + SIG_SIZE;
  }

  write(bw: bio.Writer): bio.Writer {
    this.writeUnsigned(bw);
    bw.writeBytes(this.sig);
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.readUnsigned(br);
    this.sig = readFixed(br, SIG_SIZE);
    return this;
  }

  /** TH(tag, ...prefix || unsigned encoding): what `sig` covers. */
  signatureHash(...prefix: Buffer[]): Buffer {
    return signingHash(this, this.tag, ...prefix);
  }

  /** Name `signer` as the signer (where the object names one) and sign. */
  protected signWith(signer: Signer, ...prefix: Buffer[]): this {
    this.setSignerKey(signer.publicKey);
    this.sig = signer.sign(this.signatureHash(...prefix));
    return this;
  }

  /**
   * True if `sig` is `publicKey`'s (default: the named signer's) low-S
   * signature over the hash; never throws.
   */
  protected verifyWith(publicKey: Buffer | null, ...prefix: Buffer[]): boolean {
    const key = publicKey ?? this.signerKey();
    if (!key)
      return false;
    return verifyIdentityMessage(signingPreimage(this, this.tag, ...prefix), this.sig, key);
  }
}

/**
 * A signed object bound to one network: the prefix is the network magic
 * (u32 LE, `magicBytes`), so what is signed on regtest never verifies on
 * main. The envelope's request and response, announcements and the signed
 * statements (PROTOCOL 2) all sign this way.
 */
export abstract class NetworkSignedStruct extends SignedStruct {
  /** TH(tag, magic u32 LE || unsigned encoding): what `sig` covers (a request's id). */
  hash(magic: number): Buffer {
    return this.signatureHash(magicBytes(magic));
  }

  /** Sign for the network with `magic` as `signer`, who becomes the named signer where the object names one. */
  sign(signer: Signer, magic: number): this {
    return this.signWith(signer, magicBytes(magic));
  }

  /**
   * True if `publicKey` (default: the named signer; an object that names
   * none verifies only against a key given) signed it for the network
   * with `magic`; never throws.
   */
  verify(magic: number, publicKey: Buffer | null = null): boolean {
    return this.verifyWith(publicKey, magicBytes(magic));
  }
}

/**
 * A signed statement that opens with its signer's 33-byte identity key
 * (`signer`): a node's signed view of something (its market prices, its
 * reputation of an identity) that anyone can verify without context.
 */
export abstract class SignerStatement extends NetworkSignedStruct {
  /** The signing node's compressed identity key (33 bytes). */
  signer: Buffer = Buffer.alloc(33);

  signerKey(): Buffer {
    return this.signer;
  }

  protected setSignerKey(key: Buffer): void {
    this.signer = key;
  }
}

/** The network magic as signed: u32 LE. */
export function magicBytes(magic: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(magic >>> 0, 0);
  return b;
}
