// Mine a block holding chosen txs on a daemon's tip by hand, for tests
// of double spends: a tx the node's mempool would refuse still gets into
// the chain.
import { randomBytes } from 'crypto';
import bcoin = require('../../lib/bcoin');
import { Identity } from '../../lib/base/identity';
import { identityScript } from '../../lib/negotiator/walletpay';
import type { DaemonProcess } from './nodes-context';

const network = bcoin.Network.get('regtest');

interface Template {
  previousblockhash: string;
  height: number;
  bits: string;
  curtime: number;
  version: number;
}

/** bcoin's Block calls the typings leave out. */
type FullBlock = bcoin.Block & { createCommitmentHash(): Buffer; createMerkleRoot(enc: 'hex'): string; refresh(): void; verifyPOW(): boolean };

function revHex(hex: string): string {
  return Buffer.from(hex, 'hex').reverse().toString('hex');
}

/**
 * Mine a block holding `txs` on `node`'s tip by hand (getblocktemplate,
 * our own coinbase with the witness commitment, submitblock): a tx the
 * node's mempool would refuse (a double spend) still gets into the chain.
 */
export async function mineWith(node: DaemonProcess, txs: bcoin.TX[]): Promise<void> {
  const tpl = await node.client().call('getblocktemplate', [{ rules: ['segwit'] }]) as Template;
  const cb = new bcoin.MTX();
  cb.version = 1;
  const input = new bcoin.Input();
  input.prevout = new bcoin.Outpoint();
  input.script = new bcoin.Script().pushInt(tpl.height).pushData(randomBytes(8)).compile();
  input.witness = new bcoin.Witness().fromItems([Buffer.alloc(32)]);
  cb.inputs.push(input);
  cb.addOutput(identityScript(Identity.generate(network).publicKey), 0);
  const block = new bcoin.Block() as FullBlock;
  block.version = tpl.version;
  block.prevBlock = revHex(tpl.previousblockhash);
  block.time = tpl.curtime;
  block.bits = Number.parseInt(tpl.bits, 16);
  block.txs = [cb.toTX(), ...txs];
  cb.addOutput(bcoin.Script.fromNulldata(Buffer.alloc(0)), 0);
  // The commitment output: OP_RETURN 0xaa21a9ed || hash (BIP141).
  cb.outputs[1].script = new bcoin.Script().pushOp(0x6a)
    .pushData(Buffer.concat([Buffer.from('aa21a9ed', 'hex'), block.createCommitmentHash()])).compile();
  block.txs[0] = cb.toTX();
  block.merkleRoot = block.createMerkleRoot('hex');
  block.nonce = 0;
  block.refresh();
  while (!block.verifyPOW()) {
    block.nonce += 1;
    block.refresh();
  }
  const res = await node.client().call('submitblock', [block.toRaw().toString('hex')]);
  if (res !== null)
    throw new Error(`submitblock: ${String(res)}`);
}
