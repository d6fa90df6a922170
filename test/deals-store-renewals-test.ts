// DealStore#renewedBy (listcontracts' `renewedBy`): the renewal of a
// contract is found from one read of the renter records, kept until a
// record is written or deleted, and follows every kind of write.
import t from 'tap';
import { DealStore } from '../lib/deals/dealstore';
import { PendingRevision, RenterContract } from '../lib/deals/dealrecords';
import { Revision } from '../lib/contracts/revision';

function contract(escrow: number, prev?: RenterContract): RenterContract {
  const rc = new RenterContract();
  rc.contract.escrowValue = escrow;
  if (prev)
    rc.contract.prevId = prev.contract.hash();
  return rc;
}

t.test('renewedBy follows the renter records', async (t) => {
  const store = new DealStore({ datadir: '', memory: true });
  await store.open();
  t.teardown(() => store.close());
  const old = contract(10000);
  await store.putRenterContract(old);
  t.equal(await store.renewedBy(old.contract.hash()), null, 'not renewed');

  // Every read below must see the write before it, each through another write path.
  const viaPending = contract(20000, old);
  await store.putPending(viaPending.contract.hash(), new PendingRevision(), viaPending);
  t.equal(await store.renewedBy(old.contract.hash()), viaPending.contract.id(), 'a renewal stored with its pending revision');

  const third = contract(30000, old);
  const rev = new Revision();
  rev.contractId = third.contract.hash();
  await store.applyRevision({ id: third.contract.hash(), revision: rev, remove: [], add: [], renter: third });
  const byKey = [viaPending, third].map((rc) => rc.contract).sort((a, b) => Buffer.compare(a.hash(), b.hash()));
  t.equal(await store.renewedBy(old.contract.hash()), byKey[1].id(), 'with two, the last in key order, as a scan finds');

  await store.deleteRenterContract(byKey[1].hash());
  t.equal(await store.renewedBy(old.contract.hash()), byKey[0].id(), 'a deleted renewal is gone');
  await store.deleteRenterContract(byKey[0].hash());
  t.equal(await store.renewedBy(old.contract.hash()), null, 'none left');

  const adopted = contract(40000, old);
  const r0 = new Revision();
  r0.contractId = adopted.contract.hash();
  await store.adoptContract(adopted, [r0], [], null);
  t.equal(await store.renewedBy(old.contract.hash()), adopted.contract.id(), 'a renewal taken over from the seed');
  t.equal(await store.renewedBy(adopted.contract.hash()), null, 'the renewal itself is not renewed');
});
