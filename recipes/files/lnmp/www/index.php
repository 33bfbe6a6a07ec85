<?php
// The LNMP demo page: nginx passes *.php to php-fpm over FastCGI, and php-fpm runs this file.
// The line it prints is computed, so its source ("<?php …") and its output cannot be mistaken.
echo "sum=" . (6 * 7) . " php=" . PHP_VERSION . " sapi=" . PHP_SAPI . "\n";
