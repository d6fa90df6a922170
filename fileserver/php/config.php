<?php
/*
 * config.php - settings of the CloudCoin PHP file server (docs/HOSTING.md).
 * Edit, then upload with the rest of the folder. Keep this file private:
 * the .htaccess next to it refuses to serve it, and PHP never prints it.
 */
return [
    // 64 hex characters. Make one with: php -r 'echo bin2hex(random_bytes(32)), "\n";'
    // and give the same key to the node in a file, not as a flag (any local
    // user can read a command line): fileserver-key-file=FILE in its
    // cloudcoin.conf, or cloudcoind --host --fileserver URL --fileserver-key-file FILE
    'admin_key' => '',

    // Where contracts and objects are kept. Best outside the web root
    // (e.g. '/home/you/cloudcoin-data'); a relative path is relative to this
    // folder, where the shipped data/.htaccess denies web access to it.
    'data_dir' => 'data',

    // The URL path this folder is served under, as the web server sees it:
    // '/cc' for https://example.com/cc/. Empty when it is the site root.
    'base_path' => '',

    // Bytes of contract data to accept (manifests, objects and their tree
    // files): a whole number of bytes, not '10GB' (the server refuses it).
    'capacity' => 10 * 1024 * 1024 * 1024,
];
