<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Tests;

use OnlineConnect\Client\Exception\ResourceExhaustedException;
use OnlineConnect\Client\OnlineConnectClient;
use PHPUnit\Framework\TestCase;

/** Base of the tests that talk to a real gateway and agent: fails (never skips) when OC_BASE_URL is missing. */
abstract class LiveTestCase extends TestCase
{
    /** The demo customer of the product sheet and its order. */
    protected const CUSTOMER = '4711';
    protected const ORDER = '091782005';
    protected const INVOICE = 'D-1000001';

    /** The lines of the sheet's order as [quantity ordered, article number, description]. */
    protected const SHEET_LINES = [
        [2, '6392', 'Ochsenziemer XL'],
        [1, '6393', 'Rinderhaut-Streifen XL'],
        [1, 'SY 1', 'Versandkostenfrei'],
        [1, '12009', 'Gesamtkatalog 2014'],
        [2, '22030', 'Kleine Belohnung für Ihren Hund'],
    ];

    /** An order's lines as [quantity ordered, article number, description], comparable with SHEET_LINES. */
    protected static function lineTriples(array $lines): array
    {
        return array_map(static fn ($l): array => [$l->quantityOrdered, $l->articleNumber, $l->description], $lines);
    }

    /** Asserts that $call is refused 429 RESOURCE_EXHAUSTED with a Retry-After, after one attempt (no retry). */
    protected static function assertRateLimited(callable $call): void
    {
        try {
            $call();
            self::fail('expected ResourceExhaustedException');
        } catch (ResourceExhaustedException $e) {
            self::assertSame(429, $e->httpStatus);
            self::assertSame(8, $e->getCode());
            self::assertNotNull($e->retryAfter, 'the gateway says when to come back');
            self::assertGreaterThan(0, $e->retryAfter);
            self::assertSame(1, $e->attempts, 'RESOURCE_EXHAUSTED is not retried');
        }
    }

    /** http://127.0.0.1:PORT of a port nothing listens on (bound, then closed): connections are refused. */
    protected static function refusedBaseUrl(): string
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        self::assertNotFalse($socket);
        $address = stream_socket_get_name($socket, false);
        fclose($socket);
        return "http://$address";
    }

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
