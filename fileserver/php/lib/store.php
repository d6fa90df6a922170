<?php
/*
 * store.php - the object store, with the layout of lib/storage/store.ts
 * (either server can serve the other's data folder):
 *
 *   contracts/<id>.json           {id, expiry, registered, manifestLimit}
 *   objects/<id>/<n>.json         {contract, object, root, size, registered[, adoptedFrom]} or a tombstone {.., deleted}
 *   objects/<id>/<n>/{data,tree}  complete object n, renamed in whole from uploads/
 *   objects/<id>/0                sealed manifest
 *   uploads/<id>/<n>/{data,tree,state.json}
 *   locks/<id>.<n>                flock()ed while object n is written (PHP keeps no memory
 *                                 between requests, so the upload lock is a file lock)
 *
 * Records are written before data and removed before it; an interrupted
 * atomic write leaves only a `.tmp-` file. Records and manifests are
 * fsync'ed (fsync() since 8.1) and renamed into place; upload parts are not
 * fsynced, the part completing an object fsyncs it once (as the Node store).
 */

declare(strict_types=1);

const CC_MAX_PART = 8 << 20;
const CC_MAX_MANIFEST = 1 << 20;
const CC_MAX_OBJECT_SIZE = 1 << 40;
// Data objects stop at 2^32-2: 2^32-1 in a `get` token means every data object (CC_ALL_OBJECTS).
const CC_MAX_OBJECT_ID = 4294967294;
const CC_MAX_OBJECTS = 65536;
const CC_WRITE_BLOCK = 1 << 20;
// Objects one adopt call may name (lib/storage/objectstore.ts MAX_ADOPT_OBJECTS).
const CC_MAX_ADOPT_OBJECTS = 4096;

final class CCStore
{
    public function __construct(public readonly string $dir, public readonly int $capacity, private $clock)
    {
    }

    public function now(): int
    {
        return ($this->clock)();
    }

    /** Creates the layout if missing (a fresh data folder). */
    public function open(): void
    {
        foreach (['', '/contracts', '/uploads', '/objects', '/locks'] as $sub) {
            $d = $this->dir . $sub;
            if (!is_dir($d) && !@mkdir($d, 0700) && !is_dir($d))
                throw cc_io_error('mkdir');
        }
    }

    public static function isId(mixed $id): bool
    {
        return is_string($id) && preg_match('/^[0-9a-f]{64}$/D', $id) === 1;
    }

    public static function isDataObject(mixed $n): bool
    {
        return is_int($n) && $n >= 1 && $n <= CC_MAX_OBJECT_ID;
    }

    private function recordPath(string $id): string
    {
        return "$this->dir/contracts/$id.json";
    }

    private function objectRecordPath(string $id, int $n): string
    {
        return "$this->dir/objects/$id/$n.json";
    }

    private function uploadDir(string $id, int $n): string
    {
        return "$this->dir/uploads/$id/$n";
    }

    private function objectDir(string $id, int $n): string
    {
        return "$this->dir/objects/$id/$n";
    }

    private function manifestPath(string $id): string
    {
        return "$this->dir/objects/$id/0";
    }

    private static function readJSON(string $file): ?array
    {
        if (!is_file($file))
            return null;
        $raw = @file_get_contents($file);
        if ($raw === false)
            throw cc_io_error('read');
        $json = json_decode($raw, true);
        return is_array($json) ? $json : null;
    }

    /** Temp file, fsync, rename, fsync of the directory (no fsync when not $durable). */
    public static function writeAtomic(string $file, string $data, bool $durable = true): void
    {
        $tmp = $file . '.tmp-' . bin2hex(random_bytes(6));
        $fh = @fopen($tmp, 'xb');
        if ($fh === false)
            throw cc_io_error('create');
        try {
            cc_write_all($fh, $data);
            if (!@fflush($fh) || ($durable && !@fsync($fh)))
                throw cc_io_error('fsync');
        } catch (Throwable $e) {
            fclose($fh);
            @unlink($tmp);
            throw $e;
        }
        fclose($fh);
        if (!@rename($tmp, $file)) {
            $err = cc_io_error('rename');
            @unlink($tmp);
            throw $err;
        }
        if ($durable)
            self::syncDir(dirname($file));
    }

    private static function syncDir(string $dir): void
    {
        // PHP cannot open a directory for fsync on every platform; Linux allows it.
        $fh = @fopen($dir, 'r');
        if ($fh !== false) {
            @fsync($fh);
            fclose($fh);
        }
        error_clear_last();
    }

    private static function mkdirp(string $dir): void
    {
        if (is_dir($dir))
            return;
        if (!@mkdir($dir, 0700, true) && !is_dir($dir))
            throw cc_io_error('mkdir');
        self::syncDir(dirname($dir));
    }

    public static function rmrf(string $path): void
    {
        if (is_link($path) || is_file($path)) {
            @unlink($path);
            return;
        }
        if (!is_dir($path))
            return;
        foreach (scandir($path) ?: [] as $name) {
            if ($name !== '.' && $name !== '..')
                self::rmrf("$path/$name");
        }
        @rmdir($path);
    }

    public function getContract(string $id): ?array
    {
        return self::isId($id) ? self::readJSON($this->recordPath($id)) : null;
    }

    private function mustContract(string $id): array
    {
        $rec = $this->getContract($id);
        if ($rec === null)
            throw new CCError('unknown-contract', 'no such contract');
        return $rec;
    }

    private function liveContract(string $id): array
    {
        $rec = $this->mustContract($id);
        if ($rec['expiry'] <= $this->now())
            throw new CCError('contract-expired', 'contract has expired');
        return $rec;
    }

    private function readObject(string $id, int $n): ?array
    {
        return self::readJSON($this->objectRecordPath($id, $n));
    }

    public function getObject(string $id, int $n): ?array
    {
        if (!self::isId($id) || !self::isDataObject($n))
            return null;
        $r = $this->readObject($id, $n);
        return ($r !== null && !isset($r['deleted'])) ? $r : null;
    }

    private function mustObject(string $id, int $n): array
    {
        $r = $this->getObject($id, $n);
        if ($r === null)
            throw new CCError('unknown-object', "object $n is not registered");
        return $r;
    }

    /** Every stored object record of a contract, tombstones included. */
    private function storedObjects(string $id): array
    {
        $out = [];
        foreach (@scandir("$this->dir/objects/$id") ?: [] as $name) {
            if (preg_match('/^([1-9][0-9]*)\.json$/D', $name, $m)) {
                $r = $this->readObject($id, (int)$m[1]);
                if ($r !== null)
                    $out[] = $r;
            }
        }
        return $out;
    }

    public function listContracts(): array
    {
        $out = [];
        foreach (@scandir("$this->dir/contracts") ?: [] as $name) {
            if (preg_match('/^([0-9a-f]{64})\.json$/D', $name, $m)) {
                $r = $this->getContract($m[1]);
                if ($r !== null)
                    $out[] = $r;
            }
        }
        return $out;
    }

    /**
     * Runs $fn holding the store-wide registration lock: PHP serves requests
     * in parallel processes, so checking capacity and writing the record
     * must be one step (the Node server is one process and needs no lock).
     */
    private function registering(callable $fn): array
    {
        $fh = @fopen("$this->dir/locks/.register", 'c');
        if ($fh === false)
            throw cc_io_error('lock');
        flock($fh, LOCK_EX);
        try {
            return $fn();
        } finally {
            flock($fh, LOCK_UN);
            fclose($fh);
        }
    }

    private function reserve(int $bytes): void
    {
        $reserved = $this->status()['reserved'];
        if ($reserved + $bytes > $this->capacity)
            throw new CCError('no-capacity', 'not enough capacity', ['free' => max(0, $this->capacity - $reserved)]);
    }

    public function register(mixed $id, mixed $expiry, mixed $manifestLimit): array
    {
        $manifestLimit ??= CC_MAX_MANIFEST;
        if (!self::isId($id))
            throw new CCError('bad-contract', 'id must be 64 lowercase hex');
        if (!is_int($expiry) || $expiry <= $this->now())
            throw new CCError('bad-contract', 'expiry must be unix seconds in the future');
        if (!is_int($manifestLimit) || $manifestLimit < 1 || $manifestLimit > CC_MAX_MANIFEST)
            throw new CCError('bad-contract', 'manifestLimit must be an integer in 1..' . CC_MAX_MANIFEST);
        return $this->registering(function () use ($id, $expiry, $manifestLimit): array {
            $old = $this->getContract($id);
            if ($old !== null) {
                if ($old['expiry'] === $expiry && $old['manifestLimit'] === $manifestLimit)
                    return $old;
                throw new CCError('contract-exists', 'contract already registered with other terms');
            }
            $this->reserve($manifestLimit);
            $rec = ['id' => $id, 'expiry' => $expiry, 'registered' => $this->now(), 'manifestLimit' => $manifestLimit];
            self::writeAtomic($this->recordPath($id), json_encode($rec));
            return $rec;
        });
    }

    public function registerObject(string $id, int $n, mixed $root, mixed $size): array
    {
        if (!self::isDataObject($n))
            throw new CCError('bad-object', 'data object ids are 1..' . CC_MAX_OBJECT_ID);
        if (!is_string($root) || preg_match('/^[0-9a-f]{64}$/D', $root) !== 1)
            throw new CCError('bad-object', 'root must be 64 lowercase hex');
        if (!is_int($size) || $size < 1 || $size > CC_MAX_OBJECT_SIZE)
            throw new CCError('bad-object', 'size must be an integer in 1..' . CC_MAX_OBJECT_SIZE);
        $this->liveContract($id);
        return $this->registering(function () use ($id, $n, $root, $size): array {
            $old = $this->readObject($id, $n);
            if ($old !== null) {
                if (!isset($old['deleted']) && $old['root'] === $root && $old['size'] === $size)
                    return $old;
                throw new CCError('object-exists', isset($old['deleted']) ? "object $n was deleted; ids are never reused"
                    : "object $n is registered with other terms");
            }
            if (count($this->storedObjects($id)) >= CC_MAX_OBJECTS)
                throw new CCError('too-many-objects', 'a contract holds at most ' . CC_MAX_OBJECTS . ' objects');
            $this->reserve(cc_footprint($size));
            $rec = ['contract' => $id, 'object' => $n, 'root' => $root, 'size' => $size, 'registered' => $this->now()];
            self::mkdirp("$this->dir/objects/$id");
            self::writeAtomic($this->objectRecordPath($id, $n), json_encode($rec));
            if ($this->getContract($id) === null) {
                self::rmrf("$this->dir/objects/$id");
                throw new CCError('unknown-contract', 'contract was removed during the registration');
            }
            return $rec;
        });
    }

    /** Takes the write lock of object $n, or throws `busy`. Returns the lock handle. */
    private function lock(string $id, int $n)
    {
        $fh = @fopen("$this->dir/locks/$id.$n", 'c');
        if ($fh === false)
            throw cc_io_error('lock');
        if (!flock($fh, LOCK_EX | LOCK_NB)) {
            fclose($fh);
            throw new CCError('busy', 'another request is writing this object');
        }
        return $fh;
    }

    private static function unlock($fh): void
    {
        flock($fh, LOCK_UN);
        fclose($fh);
    }

    /** True while a request holds the lock of one of the contract's objects. */
    private function busy(string $id): bool
    {
        foreach (glob("$this->dir/locks/$id.*") ?: [] as $file) {
            $fh = @fopen($file, 'c');
            if ($fh === false)
                continue;
            $free = flock($fh, LOCK_EX | LOCK_NB);
            if ($free)
                flock($fh, LOCK_UN);
            fclose($fh);
            if (!$free)
                return true;
        }
        return false;
    }

    public function deleteObject(string $id, int $n): void
    {
        $this->mustContract($id);
        $rec = $this->mustObject($id, $n);
        $lock = $this->lock($id, $n);
        try {
            self::writeAtomic($this->objectRecordPath($id, $n),
                json_encode(['contract' => $id, 'object' => $rec['object'], 'deleted' => $this->now()]));
            self::rmrf($this->uploadDir($id, $n));
            self::rmrf($this->objectDir($id, $n));
        } finally {
            self::unlock($lock);
        }
        @unlink("$this->dir/locks/$id.$n");
    }

    /**
     * A renewal (POST /admin/contracts/<id>/adopt, docs/FILESERVER.md): each
     * complete object $n of contract $from gets a record in $id with the same
     * root and size (adoptedFrom = $from) and its data and tree files
     * hard-linked in, so both contracts hold one copy until $from goes.
     * Everything is checked before anything changes; idempotent per object.
     * The record is written first and the linked directory appears by one
     * rename, so an interrupted call leaves the object absent or whole and
     * calling again finishes it. Returns the number of objects named.
     */
    public function adopt(string $id, mixed $from, mixed $list): int
    {
        if (!self::isId($from) || $from === $id)
            throw new CCError('bad-contract', 'from must be another contract id (64 lowercase hex)');
        if (!is_array($list) || !array_is_list($list) || count($list) > CC_MAX_ADOPT_OBJECTS
            || count(array_filter($list, fn($n) => !self::isDataObject($n))) > 0)
            throw new CCError('bad-object', 'objects must be a list of at most ' . CC_MAX_ADOPT_OBJECTS . ' data object ids');
        $this->liveContract($id);
        $this->mustContract($from);
        return $this->registering(function () use ($id, $from, $list): array {
            $fresh = 0;
            foreach ($list as $n) {
                $rec = $this->mustObject($from, $n);
                if (!$this->isComplete($from, $n))
                    throw new CCError('upload-incomplete', "object $n of $from is not complete");
                $mine = $this->readObject($id, $n);
                if ($mine === null) {
                    $fresh++;
                    continue;
                }
                if (isset($mine['deleted']) || $mine['root'] !== $rec['root'] || $mine['size'] !== $rec['size'])
                    throw new CCError('object-exists', "object $n was used in $id otherwise; ids are never reused");
            }
            if (count($this->storedObjects($id)) + $fresh > CC_MAX_OBJECTS)
                throw new CCError('too-many-objects', 'a contract holds at most ' . CC_MAX_OBJECTS . ' objects');
            self::mkdirp("$this->dir/objects/$id");
            foreach ($list as $n) {
                $rec = $this->mustObject($from, $n);
                $lock = $this->lock($id, $n);
                try {
                    if ($this->readObject($id, $n) === null)
                        self::writeAtomic($this->objectRecordPath($id, $n), json_encode(['contract' => $id, 'object' => $n,
                            'root' => $rec['root'], 'size' => $rec['size'], 'registered' => $this->now(), 'adoptedFrom' => $from]));
                    if (!$this->isComplete($id, $n))
                        $this->linkObject($from, $id, $n);
                } finally {
                    self::unlock($lock);
                }
            }
            return [count($list)];
        })[0];
    }

    /** Hard-links object $n's data and tree from $from into $id, appearing by one rename. */
    private function linkObject(string $from, string $id, int $n): void
    {
        $tmp = "$this->dir/objects/$id/$n.tmp-adopt";
        self::rmrf($tmp);
        if (!@mkdir($tmp, 0700))
            throw cc_io_error('mkdir');
        foreach (['data', 'tree'] as $file) {
            if (!@link($this->objectDir($from, $n) . "/$file", "$tmp/$file"))
                throw cc_io_error('link');
        }
        self::syncDir($tmp);
        if (!@rename($tmp, $this->objectDir($id, $n)))
            throw cc_io_error('rename');
        self::syncDir("$this->dir/objects/$id");
    }

    /**
     * True while an adopted object's bytes are still counted by the contract
     * it came from (same id and root, live there): capacity counts them once.
     */
    private function shared(array $rec): bool
    {
        $src = isset($rec['adoptedFrom']) && $this->getContract($rec['adoptedFrom']) !== null
            ? $this->readObject($rec['adoptedFrom'], $rec['object']) : null;
        return $src !== null && !isset($src['deleted']) && $src['root'] === $rec['root'] && $src['size'] === $rec['size'];
    }

    public function unregister(string $id): bool
    {
        if ($this->getContract($id) === null)
            return false;
        if ($this->busy($id))
            throw new CCError('busy', 'a write to this contract is in progress; retry');
        if (!@unlink($this->recordPath($id)))
            throw cc_io_error('unlink');
        self::syncDir("$this->dir/contracts");
        self::rmrf("$this->dir/uploads/$id");
        self::rmrf("$this->dir/objects/$id");
        foreach (glob("$this->dir/locks/$id.*") ?: [] as $file)
            @unlink($file);
        return true;
    }

    public function purge(): array
    {
        // Temp files of writes a time or memory limit interrupted (older than
        // any request may run): PHP has no start-up sweep, purge is the sweep.
        foreach (array_merge(glob("$this->dir/contracts/*.tmp-*") ?: [], glob("$this->dir/objects/*/*.tmp-*") ?: [],
            glob("$this->dir/uploads/*/*/*.tmp-*") ?: []) as $tmp) {
            if (@filemtime($tmp) < time() - 300)
                self::rmrf($tmp);
        }
        error_clear_last();
        $out = [];
        $now = $this->now();
        foreach ($this->listContracts() as $rec) {
            if ($rec['expiry'] <= $now && !$this->busy($rec['id']) && $this->unregister($rec['id']))
                $out[] = $rec['id'];
        }
        return $out;
    }

    /**
     * Bytes of an upload that count: what state.json records, but no more
     * than the data file holds (parts are not fsynced), on a leaf boundary.
     */
    private function received(string $id, int $n): int
    {
        $st = self::readJSON($this->uploadDir($id, $n) . '/state.json');
        if ($st === null || !is_int($st['received'] ?? null))
            return 0;
        $held = self::fileSize($this->uploadDir($id, $n) . '/data');
        return $held >= $st['received'] ? $st['received'] : intdiv($held, CC_LEAF_SIZE) * CC_LEAF_SIZE;
    }

    private function isComplete(string $id, int $n): bool
    {
        return is_file($this->objectDir($id, $n) . '/data');
    }

    private static function fileSize(string $file): int
    {
        clearstatcache(true, $file);
        return is_file($file) ? (int)filesize($file) : 0;
    }

    public function objectState(string $id, int $n): array
    {
        $this->mustContract($id);
        $rec = $this->mustObject($id, $n);
        $complete = $this->isComplete($id, $n);
        return $rec + ['complete' => $complete, 'received' => $complete ? $rec['size'] : $this->received($id, $n)];
    }

    private function objectUsed(array $rec): int
    {
        if ($this->isComplete($rec['contract'], $rec['object']))
            return cc_footprint($rec['size']);
        if (is_file($this->uploadDir($rec['contract'], $rec['object']) . '/tree'))
            return $this->received($rec['contract'], $rec['object']) + cc_tree_file_size($rec['size']);
        return 0;
    }

    public function state(string $id): array
    {
        return $this->contractState($this->mustContract($id));
    }

    private function contractState(array $rec): array
    {
        $manifestSize = self::fileSize($this->manifestPath($rec['id']));
        $reserved = $rec['manifestLimit'];
        $used = $manifestSize;
        $count = 0;
        foreach ($this->storedObjects($rec['id']) as $o) {
            if (isset($o['deleted']))
                continue;
            $count++;
            // Bytes shared with the contract an object was adopted from count there.
            if ($this->shared($o))
                continue;
            $reserved += cc_footprint($o['size']);
            $used += $this->objectUsed($o);
        }
        return $rec + ['manifestSize' => $manifestSize, 'objects' => $count, 'reserved' => $reserved, 'used' => $used];
    }

    public function status(): array
    {
        $reserved = 0;
        $used = 0;
        $objects = 0;
        $list = $this->listContracts();
        foreach ($list as $rec) {
            $st = $this->contractState($rec);
            $reserved += $st['reserved'];
            $used += $st['used'];
            $objects += $st['objects'];
        }
        return ['capacity' => $this->capacity, 'reserved' => $reserved, 'used' => $used,
            'free' => max(0, $this->capacity - $reserved), 'contracts' => count($list), 'objects' => $objects];
    }

    public function receipt(string $id, int $n): array
    {
        $this->mustContract($id);
        $rec = $this->mustObject($id, $n);
        if (!$this->isComplete($id, $n) && $this->received($id, $n) === $rec['size']) {
            try {
                $lock = $this->lock($id, $n);
                try {
                    $this->finish($rec);
                } catch (CCError $e) {
                    if ($e->errCode !== 'root-mismatch')
                        throw $e;
                } finally {
                    self::unlock($lock);
                }
            } catch (CCError $e) {
                if ($e->errCode !== 'busy')
                    throw $e;
            }
        }
        if (!$this->isComplete($id, $n))
            throw new CCError('upload-incomplete', 'upload is not complete', ['received' => $this->received($id, $n), 'size' => $rec['size']]);
        return ['contract' => $id, 'object' => $n, 'root' => $rec['root'], 'size' => $rec['size'], 'complete' => true];
    }

    /**
     * Writes one part of data object $n at $offset from $body (a stream of
     * exactly $length bytes); see lib/storage/store.ts writePart. A failed
     * part is rolled back.
     * @param resource $body
     */
    public function writePart(string $id, int $n, int $offset, int $length, $body): array
    {
        $this->liveContract($id);
        $rec = $this->mustObject($id, $n);
        $lock = $this->lock($id, $n);
        $dir = $this->uploadDir($id, $n);
        $started = false;
        try {
            if (!$this->isComplete($id, $n) && $this->received($id, $n) === $rec['size'])
                $this->finish($rec);
            if ($this->isComplete($id, $n))
                throw new CCError('already-complete', 'object already uploaded');
            $received = $this->received($id, $n);
            if ($offset !== $received)
                throw new CCError('bad-offset', "expected offset $received", ['received' => $received]);
            if ($offset + $length > $rec['size'])
                throw new CCError('too-large', 'part goes beyond the object size', ['size' => $rec['size']]);
            if ($length < 1)
                throw new CCError('empty-body', 'part must be 1..' . CC_MAX_PART . ' bytes');
            if ($length > CC_MAX_PART)
                throw new CCError('too-large', 'part must be 1..' . CC_MAX_PART . ' bytes');
            $last = $offset + $length === $rec['size'];
            if (!$last && $length % CC_LEAF_SIZE !== 0)
                throw new CCError('unaligned-part', 'parts other than the last must be a multiple of ' . CC_LEAF_SIZE . ' bytes');

            $started = true;
            self::dropTemps($dir);
            self::mkdirp($dir);
            $fresh = !is_file("$dir/tree");
            $data = @fopen("$dir/data", 'c+b');
            $tree = $data === false ? false : @fopen("$dir/tree", 'c+b');
            if ($data === false || $tree === false)
                throw cc_io_error('open');
            try {
                if ($fresh && !@ftruncate($tree, cc_tree_file_size($rec['size'])))
                    throw cc_io_error('truncate');
                $hashes = $this->receivePart($data, $offset, $length, $body);
                $offsets = cc_level_offsets($rec['size']);
                cc_write_at($tree, $offsets[0] + intdiv($offset, CC_LEAF_SIZE) * 32, $hashes);
                cc_build_blocks($tree, $rec['size'], cc_full_blocks($rec['size'], $offset), cc_full_blocks($rec['size'], $offset + $length));
                // No fsync per part: finish() fsyncs the object once (lib/storage/objectstore.ts says why).
                if (!@fflush($data) || !@fflush($tree))
                    throw cc_io_error('write');
            } finally {
                fclose($data);
                fclose($tree);
            }
            if ($this->getContract($id) === null) {
                self::rmrf("$this->dir/uploads/$id");
                throw new CCError('unknown-contract', 'contract was removed during the upload');
            }
            if ($last)
                $this->finish($rec);
            else
                self::writeAtomic("$dir/state.json", json_encode(['received' => $offset + $length]), false);
            return $this->objectState($id, $n);
        } catch (Throwable $e) {
            if ($started && !$this->isComplete($id, $n))
                $this->rollback($id, $n, $offset);
            throw $e;
        } finally {
            self::unlock($lock);
        }
    }

    private function rollback(string $id, int $n, int $offset): void
    {
        $dir = $this->uploadDir($id, $n);
        if ($offset === 0 || $this->received($id, $n) === 0) {
            self::rmrf($dir);
            @rmdir(dirname($dir));
        } else {
            @truncate_file("$dir/data", $offset);
        }
        error_clear_last();
    }

    /** Streams $length bytes of $body to $fh at $offset in 1 MiB blocks; returns the leaf hashes. */
    private function receivePart($fh, int $offset, int $length, $body): string
    {
        if (fseek($fh, $offset) !== 0)
            throw new CCError('io-error', 'cannot seek in the upload');
        $hashes = '';
        $got = 0;
        $leaf = intdiv($offset, CC_LEAF_SIZE);
        while ($got < $length) {
            $want = min(CC_WRITE_BLOCK, $length - $got);
            $block = '';
            while (strlen($block) < $want) {
                $piece = @fread($body, $want - strlen($block));
                if ($piece === false || $piece === '')
                    throw new CCError('truncated-body', 'body had ' . ($got + strlen($block)) . " of $length bytes",
                        ['got' => $got + strlen($block)]);
                $block .= $piece;
            }
            $hashes .= cc_hash_leaves($block, $leaf);
            cc_write_all($fh, $block);
            $got += $want;
            $leaf += intdiv($want, CC_LEAF_SIZE);
        }
        if (@fread($body, 1) !== '')
            throw new CCError('too-large', 'body longer than declared');
        error_clear_last();
        return $hashes;
    }

    /** Removes the `.tmp-` files a killed writer left in $dir (call only under the object's lock). */
    private static function dropTemps(string $dir): void
    {
        foreach (glob("$dir/*.tmp-*") ?: [] as $tmp)
            @unlink($tmp);
        error_clear_last();
    }

    private function finish(array $rec): void
    {
        $id = $rec['contract'];
        $n = $rec['object'];
        $dir = $this->uploadDir($id, $n);
        // The object's one fsync: its data now, its tree below.
        $dh = @fopen("$dir/data", 'r+b');
        if ($dh === false)
            throw cc_io_error('open');
        $synced = @fsync($dh);
        fclose($dh);
        if (!$synced)
            throw cc_io_error('fsync');
        $fh = @fopen("$dir/tree", 'r+b');
        if ($fh === false)
            throw cc_io_error('open');
        try {
            $root = cc_complete_tree($fh, $rec['size'], cc_full_blocks($rec['size'], $rec['size']));
            if (!@fflush($fh) || !@fsync($fh))
                throw cc_io_error('fsync');
        } finally {
            fclose($fh);
        }
        if (bin2hex($root) !== $rec['root']) {
            self::rmrf($dir);
            throw new CCError('root-mismatch', 'uploaded data does not match the registered root', ['root' => bin2hex($root)]);
        }
        // A writer killed between a temp write and its rename (kill -9, a time
        // limit) left its temp file here; under this object's lock no live
        // writer owns one, and it must not travel into the object's folder.
        self::dropTemps($dir);
        $dest = $this->objectDir($id, $n);
        self::mkdirp(dirname($dest));
        if (!@rename($dir, $dest))
            throw cc_io_error('rename');
        self::syncDir(dirname($dest));
        @unlink("$dest/state.json");
        @rmdir(dirname($dir));
        error_clear_last();
    }

    /** @param resource $body */
    public function writeManifest(string $id, int $length, $body): int
    {
        $rec = $this->liveContract($id);
        if ($length < 1)
            throw new CCError('empty-body', 'a manifest is at least 1 byte');
        if ($length > $rec['manifestLimit'])
            throw new CCError('too-large', "the manifest may be at most {$rec['manifestLimit']} bytes", ['limit' => $rec['manifestLimit']]);
        $lock = $this->lock($id, 0);
        try {
            $data = '';
            while (strlen($data) < $length) {
                $piece = @fread($body, $length - strlen($data));
                if ($piece === false || $piece === '')
                    throw new CCError('truncated-body', 'body had ' . strlen($data) . " of $length bytes", ['got' => strlen($data)]);
                $data .= $piece;
            }
            error_clear_last();
            if ($this->getContract($id) === null)
                throw new CCError('unknown-contract', 'contract was removed during the upload');
            self::mkdirp("$this->dir/objects/$id");
            self::writeAtomic($this->manifestPath($id), $data);
            return $length;
        } finally {
            self::unlock($lock);
        }
    }

    /** [file, size, record|null] of a stored object, or throws. */
    public function locate(string $id, int $n): array
    {
        $this->liveContract($id);
        if ($n === 0) {
            $file = $this->manifestPath($id);
            if (!is_file($file))
                throw new CCError('object-not-found', 'no manifest stored');
            return [$file, self::fileSize($file), null];
        }
        $rec = $this->mustObject($id, $n);
        if (!$this->isComplete($id, $n))
            throw new CCError('object-not-found', 'object not (completely) uploaded');
        $file = $this->objectDir($id, $n) . '/data';
        return [$file, self::fileSize($file), $rec];
    }

    public function proof(string $id, int $n, int $leaf): string
    {
        [, $size] = $this->locate($id, $n);
        if ($n === 0)
            throw new CCError('unknown-object', 'the manifest has no Merkle tree');
        if ($leaf < 0 || $leaf >= cc_leaf_count($size))
            throw new CCError('bad-leaf', 'leaf must be in 0..' . (cc_leaf_count($size) - 1));
        return cc_proof($this->objectDir($id, $n) . '/tree', $size, $leaf);
    }
}

/** Cuts a file back to $length bytes. */
function truncate_file(string $file, int $length): bool
{
    $fh = @fopen($file, 'r+b');
    if ($fh === false)
        return false;
    $ok = ftruncate($fh, $length);
    fclose($fh);
    return $ok;
}
