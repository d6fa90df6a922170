// Ambient declarations for the bcrypto 0.3.7 modules CloudCoin uses.

declare module 'bcrypto/lib/secp256k1' {
  const secp256k1: {
    privateKeyGenerate(): Buffer;
    privateKeyVerify(key: Buffer): boolean;
    publicKeyCreate(key: Buffer, compress?: boolean): Buffer;
    publicKeyVerify(key: Buffer): boolean;
    /** 64-byte compact signature, low S. */
    sign(msg: Buffer, key: Buffer): Buffer;
    signDER(msg: Buffer, key: Buffer): Buffer;
    verify(msg: Buffer, sig: Buffer, key: Buffer): boolean;
    verifyDER(msg: Buffer, sig: Buffer, key: Buffer): boolean;
    /** DER signature (no sighash byte) from a 64-byte compact one. */
    toDER(sig: Buffer): Buffer;
    /** 64-byte compact signature from a DER one. */
    fromDER(sig: Buffer): Buffer;
    /** True if a 64-byte compact signature's S is at most n/2 (and not zero). */
    isLowS(sig: Buffer): boolean;
    /** Shared point (compressed by default). */
    ecdh(pub: Buffer, priv: Buffer, compress?: boolean): Buffer;
    /** The public key behind a 64-byte compact signature and recovery id, or null. */
    recover(msg: Buffer, sig: Buffer, param?: number, compress?: boolean): Buffer | null;
  };
  export = secp256k1;
}
