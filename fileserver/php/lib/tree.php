<?php
/*
 * tree.php - the tagged Merkle tree over 4096-byte leaves and its tree file,
 * byte for byte as docs/PROTOCOL.md 4.2-4.4 and lib/storage/treefile.ts:
 *
 *   leaf_i = TH("cc/leaf", u32le i || leaf)   node = TH("cc/node", left || right)
 *   TH(tag, m) = SHA256(SHA256(tag) || SHA256(tag) || m); an odd last node
 *   is promoted unchanged.
 *   tree file: "cct1" || u64le size || root, then every level, leaves first.
 *
 * Upper levels are built per aligned block of 2^11 leaves as parts land, so
 * completing an object only combines block roots (no request rehashes the
 * whole object).
 */

declare(strict_types=1);

const CC_LEAF_SIZE = 4096;
const CC_TREE_HEADER = 44;
const CC_BLOCK_HEIGHT = 11;

/** SHA256(tag) || SHA256(tag). */
function cc_tag_prefix(string $tag): string
{
    static $cache = [];
    if (!isset($cache[$tag])) {
        $t = hash('sha256', $tag, true);
        $cache[$tag] = $t . $t;
    }
    return $cache[$tag];
}

function cc_leaf_count(int $size): int
{
    return max(1, intdiv($size + CC_LEAF_SIZE - 1, CC_LEAF_SIZE));
}

function cc_node_hash(string $left, string $right): string
{
    return hash('sha256', cc_tag_prefix('cc/node') . $left . $right, true);
}

/** Leaf hashes (n * 32 bytes) of consecutive leaves in $data, the first being leaf $first. */
function cc_hash_leaves(string $data, int $first): string
{
    $prefix = cc_tag_prefix('cc/leaf');
    $out = '';
    $len = strlen($data);
    for ($off = 0, $i = $first; $off < $len; $off += CC_LEAF_SIZE, $i++)
        $out .= hash('sha256', $prefix . pack('V', $i) . substr($data, $off, CC_LEAF_SIZE), true);
    return $out;
}

/** Node counts per level, leaves first, root last. */
function cc_level_sizes(int $leaves): array
{
    $sizes = [$leaves];
    for ($n = $leaves; $n > 1;) {
        $n = intdiv($n + 1, 2);
        $sizes[] = $n;
    }
    return $sizes;
}

/** Byte offset of each level in the tree file, plus the file size last. */
function cc_level_offsets(int $size): array
{
    $offsets = [];
    $off = CC_TREE_HEADER;
    foreach (cc_level_sizes(cc_leaf_count($size)) as $n) {
        $offsets[] = $off;
        $off += $n * 32;
    }
    $offsets[] = $off;
    return $offsets;
}

function cc_tree_file_size(int $size): int
{
    $o = cc_level_offsets($size);
    return $o[count($o) - 1];
}

/** Disk an object of $size bytes reserves: the object and its tree file. */
function cc_footprint(int $size): int
{
    return $size + cc_tree_file_size($size);
}

function cc_block_height(int $size): int
{
    return min(CC_BLOCK_HEIGHT, count(cc_level_sizes(cc_leaf_count($size))) - 1);
}

/** Blocks whose leaves all lie within the first $bytes bytes. */
function cc_full_blocks(int $size, int $bytes): int
{
    return intdiv(intdiv($bytes, CC_LEAF_SIZE), 1 << cc_block_height($size));
}

/** One level up: pairs hashed, an odd last node promoted. */
function cc_pair_level(string $level): string
{
    $n = intdiv(strlen($level), 32);
    $next = '';
    for ($i = 0; $i + 1 < $n; $i += 2)
        $next .= cc_node_hash(substr($level, $i * 32, 32), substr($level, $i * 32 + 32, 32));
    if ($n & 1)
        $next .= substr($level, ($n - 1) * 32, 32);
    return $next;
}

/** @param resource $fh */
function cc_read_at($fh, int $pos, int $len): string
{
    if (fseek($fh, $pos) !== 0)
        throw new CCError('io-error', 'cannot seek in the tree file');
    $out = '';
    while (strlen($out) < $len) {
        $piece = fread($fh, $len - strlen($out));
        if ($piece === false || $piece === '')
            throw new CCError('io-error', 'tree file is truncated');
        $out .= $piece;
    }
    return $out;
}

/** @param resource $fh */
function cc_write_at($fh, int $pos, string $data): void
{
    if (fseek($fh, $pos) !== 0)
        throw new CCError('io-error', 'cannot seek in the tree file');
    cc_write_all($fh, $data);
}

/** Writes every byte or throws the mapped write error. @param resource $fh */
function cc_write_all($fh, string $data): void
{
    $len = strlen($data);
    for ($off = 0; $off < $len;) {
        $n = @fwrite($fh, $off === 0 ? $data : substr($data, $off));
        if ($n === false || $n === 0)
            throw cc_io_error('write');
        $off += $n;
    }
}

/** Builds levels 1..height of blocks [$from, $to) from their leaf hashes. @param resource $fh */
function cc_build_blocks($fh, int $size, int $from, int $to): void
{
    $n = cc_leaf_count($size);
    $height = cc_block_height($size);
    $per = 1 << $height;
    $offsets = cc_level_offsets($size);
    for ($b = $from; $b < $to; $b++) {
        $first = $b * $per;
        $count = min($per, $n - $first);
        if ($count <= 0)
            break;
        $level = cc_read_at($fh, $offsets[0] + $first * 32, $count * 32);
        for ($k = 1; $k <= $height; $k++) {
            $level = cc_pair_level($level);
            cc_write_at($fh, $offsets[$k] + ($first >> $k) * 32, $level);
        }
    }
}

/**
 * Completes a tree file whose leaf level is written and whose first $built
 * blocks have their levels; writes the header; returns the root.
 * @param resource $fh
 */
function cc_complete_tree($fh, int $size, int $built): string
{
    $n = cc_leaf_count($size);
    $height = cc_block_height($size);
    $per = 1 << $height;
    $blocks = intdiv($n + $per - 1, $per);
    cc_build_blocks($fh, $size, $built, $blocks);
    $offsets = cc_level_offsets($size);
    $level = cc_read_at($fh, $offsets[$height], $blocks * 32);
    $top = count($offsets) - 2;
    for ($k = $height + 1; $k <= $top; $k++) {
        $level = cc_pair_level($level);
        cc_write_at($fh, $offsets[$k], $level);
    }
    cc_write_at($fh, 0, 'cct1' . pack('P', $size) . $level);
    return $level;
}

/** Siblings on the path of leaf $index: [level, sibling index] pairs. */
function cc_proof_path(int $leaves, int $index): array
{
    $path = [];
    for ($n = $leaves, $i = $index, $level = 0; $n > 1; $level++) {
        if ($i & 1)
            $path[] = [$level, $i - 1];
        elseif ($i + 1 < $n)
            $path[] = [$level, $i + 1];
        $i >>= 1;
        $n = intdiv($n + 1, 2);
    }
    return $path;
}

/** The encoded MerkleProof of leaf $index, read from a tree file (one read per level). */
function cc_proof(string $treeFile, int $size, int $index): string
{
    $fh = @fopen($treeFile, 'rb');
    if ($fh === false)
        throw cc_io_error('open');
    try {
        $n = cc_leaf_count($size);
        $offsets = cc_level_offsets($size);
        $path = cc_proof_path($n, $index);
        $out = pack('V', $index) . pack('V', $n) . chr(count($path));
        foreach ($path as [$level, $sibling])
            $out .= cc_read_at($fh, $offsets[$level] + $sibling * 32, 32);
        return $out;
    } finally {
        fclose($fh);
    }
}
