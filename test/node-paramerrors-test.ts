/*!
 * node-paramerrors-test.ts - bcoin's wrong-parameter-count answers get the
 * usage; a method's own error that starts with its name passes unchanged.
 */

import t from 'tap';
import type bcoin from 'bcoin';
import { bitcoindParamErrors } from '../lib/node/paramerrors';
import { RPCError, rpcCodes } from '../lib/base/errors';

const USAGES: Record<string, string> = {
  getblockcount: 'getblockcount\nReturns the height of the tip.',
  getblock: 'getblock "blockhash" ( verbose )\nReturns a block.',
  cloudrequest: 'cloudrequest PEER SERVICE METHOD [ARGS_JSON] [MAXPAYMENT]\nCall SERVICE.METHOD.'
};

/** An RPC whose execute throws `err`, wrapped as cloudnode.ts wraps bcoin's. */
function wrapped(err: Error): { execute(json: { method: string; params: unknown[] }): Promise<unknown> } {
  const rpc = {
    async execute(): Promise<unknown> {
      throw err;
    }
  };
  bitcoindParamErrors(rpc as unknown as bcoin.RPCBase, async (method) => {
    const text = USAGES[method];
    if (!text)
      throw new Error(`no method ${method}`);
    return text;
  });
  return rpc;
}

t.test('a bare usage line says the count and the usage', async (t) => {
  await t.rejects(wrapped(new RPCError(rpcCodes.MISC_ERROR, 'getblockcount')).execute({ method: 'getblockcount', params: [1] }),
    { code: rpcCodes.MISC_ERROR, message: 'wrong number of parameters (1 given); usage: getblockcount' });
  await t.rejects(wrapped(new RPCError(rpcCodes.MISC_ERROR, 'getblock "blockhash" ( verbose )'))
    .execute({ method: 'getblock', params: [] }),
  { message: 'wrong number of parameters (0 given); usage: getblock "blockhash" ( verbose )' });
});

t.test('a method\'s own error that starts with its name is left as it is', async (t) => {
  await t.rejects(wrapped(new RPCError(rpcCodes.MISC_ERROR, 'cloudrequest failed: timeout'))
    .execute({ method: 'cloudrequest', params: ['a', 'b', 'c', null, 500] }),
  { code: rpcCodes.MISC_ERROR, message: 'cloudrequest failed: timeout' });
});

t.test('without a usage only the bare method name counts as one', async (t) => {
  await t.rejects(wrapped(new RPCError(rpcCodes.MISC_ERROR, 'nohelp')).execute({ method: 'nohelp', params: [1, 2] }),
    { message: 'wrong number of parameters (2 given); usage: nohelp' });
  await t.rejects(wrapped(new RPCError(rpcCodes.MISC_ERROR, 'nohelp went wrong')).execute({ method: 'nohelp', params: [] }),
    { message: 'nohelp went wrong' });
});
