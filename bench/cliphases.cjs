/*!
 * cliphases.cjs - preloaded into cloudcoin-cli by bench/put.ts (node
 * --require) to split a put or get into its phases without changing the
 * CLI: when its first RPC starts (process start and module loading
 * before it), the RPCs (each call's span: a put asks some at once), an upload's first pass
 * (encrypt + hash for the root), the uploads (encrypt again + send + the
 * host hashing and writing), a download (receive + verify + decrypt).
 * It wraps the compiled modules' exports as they are required and writes
 * one JSON line to the file named by CC_BENCH_PHASES at exit, times in ms
 * from CC_BENCH_T0 (the parent's Date.now() at spawn).
 */
'use strict';
const fs = require('fs');
const Module = require('module');

const t0 = Number(process.env.CC_BENCH_T0 || Date.now());
const out = process.env.CC_BENCH_PHASES;
const now = () => Date.now() - t0;
const phases = { firstRPC: null, rpc: [], rpcCalls: 0, pass1: [], upload: [], download: [] };

/** Replaces obj[name] with a wrapper recording [start, end] of each call into `list`. */
function span(obj, name, list) {
  const f = obj[name];
  if (typeof f !== 'function' || f.ccBench)
    return;
  const wrapped = function (...args) {
    const s = now();
    const p = f.apply(this, args);
    Promise.resolve(p).then(() => list.push([s, now()]), () => {});
    return p;
  };
  wrapped.ccBench = true;
  obj[name] = wrapped;
}

const require0 = Module.prototype.require;
Module.prototype.require = function (id) {
  const m = require0.apply(this, arguments);
  if (/storage\/transfer(\.js)?$/.test(id)) {
    span(m, 'encryptedRoot', phases.pass1);
    span(m, 'uploadEncrypted', phases.upload);
    span(m, 'downloadDecrypted', phases.download);
  }
  if (/rpcclient(\.js)?$/.test(id) && m.RPCClient && !m.RPCClient.prototype.call.ccBench) {
    const call = m.RPCClient.prototype.call;
    m.RPCClient.prototype.call = function (...args) {
      const s = now();
      if (phases.firstRPC === null)
        phases.firstRPC = s;
      const p = call.apply(this, args);
      p.then(() => { phases.rpc.push([s, now()]); phases.rpcCalls++; }, () => {});
      return p;
    };
    m.RPCClient.prototype.call.ccBench = true;
  }
  return m;
};

process.on('exit', () => {
  if (out)
    fs.writeFileSync(out, `${JSON.stringify({ ...phases, exit: now() })}\n`);
});
