/*!
 * rpchelp.ts - `help` grouped as bitcoind prints it.
 *
 * bitcoind lists every method under `== Category ==` headings, each with
 * its usage line. bcoin 1.0.2 has no categories, so bcoin's methods get
 * bitcoind's (src/rpc/*.cpp), and a method an extension adds gets its
 * extension's group (`ExtensionModule.rpcGroup`, else the id capitalised).
 */

/** bitcoind's category of each bcoin 1.0.2 node method; the wallet's are all `Wallet`. */
export const CORE_GROUPS: Readonly<Record<string, string>> = {
  getbestblockhash: 'Blockchain',
  getblock: 'Blockchain',
  getblockbyheight: 'Blockchain',
  getblockchaininfo: 'Blockchain',
  getblockcount: 'Blockchain',
  getblockhash: 'Blockchain',
  getblockheader: 'Blockchain',
  getchaintips: 'Blockchain',
  getdifficulty: 'Blockchain',
  getmempoolancestors: 'Blockchain',
  getmempooldescendants: 'Blockchain',
  getmempoolentry: 'Blockchain',
  getmempoolinfo: 'Blockchain',
  getrawmempool: 'Blockchain',
  gettxout: 'Blockchain',
  gettxoutproof: 'Blockchain',
  gettxoutsetinfo: 'Blockchain',
  invalidateblock: 'Blockchain',
  pruneblockchain: 'Blockchain',
  reconsiderblock: 'Blockchain',
  verifychain: 'Blockchain',
  verifytxoutproof: 'Blockchain',
  getinfo: 'Control',
  getmemoryinfo: 'Control',
  help: 'Control',
  setloglevel: 'Control',
  stop: 'Control',
  generate: 'Generating',
  generatetoaddress: 'Generating',
  getgenerate: 'Generating',
  setgenerate: 'Generating',
  getblocktemplate: 'Mining',
  getmininginfo: 'Mining',
  getnetworkhashps: 'Mining',
  getwork: 'Mining',
  getworklp: 'Mining',
  prioritisetransaction: 'Mining',
  submitblock: 'Mining',
  verifyblock: 'Mining',
  addnode: 'Network',
  clearbanned: 'Network',
  disconnectnode: 'Network',
  getaddednodeinfo: 'Network',
  getconnectioncount: 'Network',
  getnettotals: 'Network',
  getnetworkinfo: 'Network',
  getpeerinfo: 'Network',
  listbanned: 'Network',
  ping: 'Network',
  setban: 'Network',
  createrawtransaction: 'Rawtransactions',
  decoderawtransaction: 'Rawtransactions',
  decodescript: 'Rawtransactions',
  getrawtransaction: 'Rawtransactions',
  sendrawtransaction: 'Rawtransactions',
  signrawtransaction: 'Rawtransactions',
  createmultisig: 'Util',
  createwitnessaddress: 'Util',
  estimatefee: 'Util',
  estimatepriority: 'Util',
  estimatesmartfee: 'Util',
  estimatesmartpriority: 'Util',
  setmocktime: 'Util',
  signmessagewithprivkey: 'Util',
  validateaddress: 'Util',
  verifymessage: 'Util'
};

/**
 * Help of methods that cannot be asked by calling them with the help
 * flag: `help` itself (it would list everything again), bcoin's
 * getwork and getworklp, which ignore the flag (getworklp would wait for
 * the next block), and move, which answers no usage at all.
 */
export const FIXED_USAGE: Readonly<Record<string, string>> = {
  help: 'help ( "command" )\nList all methods, grouped, or get help for one (cloudcoin-cli also knows its own commands).',
  getwork: 'getwork ( "data" )',
  getworklp: 'getworklp'
};

/** One method in the listing. */
export interface HelpEntry {
  name: string;
  group: string;
  /** The first line of the method's help: its usage. */
  usage: string;
}

/** An extension's group title from its id when it gives none (`deals` -> `Deals`). */
export function groupOf(id: string): string {
  return id.charAt(0).toUpperCase() + id.slice(1);
}

/** bitcoind's layout: groups in name order, `== Group ==`, usage lines sorted, a blank line between groups. */
export function renderHelp(entries: readonly HelpEntry[]): string {
  const groups = new Map<string, HelpEntry[]>();
  for (const e of entries) {
    const list = groups.get(e.group) ?? [];
    list.push(e);
    groups.set(e.group, list);
  }
  const out: string[] = [];
  for (const group of [...groups.keys()].sort()) {
    if (out.length > 0)
      out.push('');
    out.push(`== ${group} ==`);
    for (const e of groups.get(group)!.sort((a, b) => a.name.localeCompare(b.name)))
      out.push(e.usage);
  }
  return out.join('\n');
}
