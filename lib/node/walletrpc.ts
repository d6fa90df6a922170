/*!
 * walletrpc.ts - bcoin 1.0.2's wallet and message RPCs made to behave as
 * bitcoind's on cloudcoind's one endpoint.
 *
 * - getnewaddress/getrawchangeaddress without an account mean "default"
 *   (bcoin reads the omitted name as null, which no account matches);
 * - signmessage, verifymessage and signmessagewithprivkey use Bitcoin
 *   Core's message format (message.ts): bcoin's verify fails about half of
 *   its own signatures.
 */

import bcoin = require('../bcoin');
import { RPCError, rpcCodes } from '../base/errors';
import { keyTypeOf, signMessage, verifyMessage } from './message';

/** bitcoind's answer when a private key is needed and the wallet is locked. */
export const UNLOCK_NEEDED = 'Error: Please enter the wallet passphrase with walletpassphrase first.';

type Handler = bcoin.RPCHandler;

function usage(text: string): RPCError {
  return new RPCError(rpcCodes.MISC_ERROR, text);
}

function strings(args: unknown, count: number, help: boolean, text: string): string[] {
  if (help || !Array.isArray(args) || args.length !== count)
    throw usage(text);
  for (const a of args) {
    if (typeof a !== 'string')
      throw new RPCError(rpcCodes.TYPE_ERROR, `Expected strings: ${text.split('\n')[0]}`);
  }
  return args as string[];
}

function parseAddress(text: string, network: bcoin.Network): bcoin.Address {
  try {
    return bcoin.Address.fromString(text, network);
  } catch {
    throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, 'Invalid address');
  }
}

const SIGNMESSAGE = 'signmessage "address" "message"\n'
  + 'Sign a message with the private key of a wallet address (Bitcoin Core\'s format: base64 of 65 bytes).';
const VERIFYMESSAGE = 'verifymessage "address" "signature" "message"\n'
  + 'True if the signature (base64, from signmessage) signs the message for the address.';
const SIGNWITHPRIVKEY = 'signmessagewithprivkey "privkey" "message"\n'
  + 'Sign a message with a WIF private key (Bitcoin Core\'s format).';

/** Install the fixes on the node's RPC and the mounted wallet RPC. */
export function fixWalletRPC(nodeRPC: bcoin.RPCBase, walletRPC: bcoin.WalletPlugin['rpc'], network: bcoin.Network): void {
  for (const name of ['getnewaddress', 'getrawchangeaddress']) {
    const call = walletRPC.calls[name];
    if (!call)
      continue;
    walletRPC.calls[name] = function withDefaultAccount(this: unknown, args: unknown[], help: boolean) {
      const params = Array.isArray(args) && args.length === 0 && !help ? ['default'] : args;
      return call.call(this, params, help);
    };
  }

  const signmessage: Handler = async (args, help) => {
    const [addrText, message] = strings(args, 2, help, SIGNMESSAGE);
    const address = parseAddress(addrText, network);
    if (!address.isPubkeyhash() && !address.isWitnessPubkeyhash() && !address.isScripthash())
      throw new RPCError(rpcCodes.TYPE_ERROR, 'Address does not refer to key');
    const wallet = walletRPC.wallet;
    const path = await wallet.getPath(address);
    const account = path ? await wallet.getAccount(path.account) : null;
    if (!path || !account)
      throw new RPCError(rpcCodes.WALLET_ERROR, 'Private key not available');
    if (!wallet.master.key)
      throw new RPCError(rpcCodes.WALLET_UNLOCK_NEEDED, UNLOCK_NEEDED);
    const key = account.derivePath(path, wallet.master);
    if (!key.privateKey)
      throw new RPCError(rpcCodes.WALLET_ERROR, 'Private key not available');
    return signMessage(message, key.privateKey, key.publicKey.length === 33, keyTypeOf(address));
  };

  const verifymessage: Handler = async (args, help) => {
    const [addrText, signature, message] = strings(args, 3, help, VERIFYMESSAGE);
    return verifyMessage(parseAddress(addrText, network), signature, message);
  };

  const signmessagewithprivkey: Handler = async (args, help) => {
    const [wif, message] = strings(args, 2, help, SIGNWITHPRIVKEY);
    let ring: bcoin.KeyRing;
    try {
      ring = bcoin.KeyRing.fromSecret(wif, network);
    } catch {
      throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, 'Invalid private key');
    }
    return signMessage(message, ring.privateKey, ring.publicKey.length === 33, 'p2pkh');
  };

  walletRPC.calls.signmessage = signmessage;
  nodeRPC.calls.verifymessage = verifymessage;
  nodeRPC.calls.signmessagewithprivkey = signmessagewithprivkey;
}
