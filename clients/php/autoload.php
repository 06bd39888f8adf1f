<?php

declare(strict_types=1);

// The client without Composer: require this file once. With Composer, "autoload.psr-4" in composer.json does the same.
spl_autoload_register(static function (string $class): void {
    $prefix = 'OnlineConnect\\Client\\';
    if (!str_starts_with($class, $prefix)) {
        return;
    }
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
