<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Tests;

use OnlineConnect\Client\OnlineConnectClient;
use PHPUnit\Framework\TestCase;

/** Base of the tests that talk to a real gateway and agent: fails (never skips) when OC_BASE_URL is missing. */
abstract class LiveTestCase extends TestCase
{
    /** The demo customer of the product sheet and its order. */
    protected const CUSTOMER = '4711';
    protected const ORDER = '091782005';
    protected const INVOICE = 'D-1000001';

    protected static function env(string $name, ?string $default = null): string
    {
        $value = getenv($name);
        if ($value === false || $value === '') {
            if ($default === null) {
                self::fail("environment variable $name is not set (tests/test_php_client.py sets it)");
            }
            return $default;
        }
        return $value;
    }

    /** A client on the gateway with the connected demo agent. */
    protected static function client(array $options = []): OnlineConnectClient
    {
        return new OnlineConnectClient(
            baseUrl: $options['baseUrl'] ?? self::env('OC_BASE_URL'),
            apiKey: $options['apiKey'] ?? self::env('OC_API_KEY', 'demo-shop-key'),
            timeout: $options['timeout'] ?? 10.0,
            retryBackoff: $options['retryBackoff'] ?? 0.05,
            retryUnavailable: $options['retryUnavailable'] ?? true,
        );
    }
}
