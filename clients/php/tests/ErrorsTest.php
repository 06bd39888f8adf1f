<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Tests;

use OnlineConnect\Client\CallOptions;
use OnlineConnect\Client\Exception\DeadlineExceededException;
use OnlineConnect\Client\Exception\NotFoundException;
use OnlineConnect\Client\Exception\PermissionDeniedException;
use OnlineConnect\Client\Exception\UnauthenticatedException;
use OnlineConnect\Client\Exception\UnavailableException;
use OnlineConnect\Client\Model\Location;

/** Error codes, the retry of UNAVAILABLE, deadlines and connection reuse, against real gateways. */
final class ErrorsTest extends LiveTestCase
{
    public function testAnUnknownKeyIsUnauthenticated(): void
    {
        try {
            self::client(['apiKey' => 'no-such-shop-key'])->getOrder(self::CUSTOMER, self::ORDER);
            self::fail('expected UnauthenticatedException');
        } catch (UnauthenticatedException $e) {
            self::assertSame(401, $e->httpStatus);
            self::assertSame(16, $e->getCode());
            self::assertStringNotContainsString('no-such-shop-key', $e->getMessage(), 'the key is not echoed');
        }
    }

    public function testAKeyWithoutTheRpcIsPermissionDenied(): void
    {
        $client = self::client(['apiKey' => self::env('OC_DENIED_KEY')]);
        $stock = $client->getStoreStock('851888-XS-KI', Location::postcode('68766'));
        self::assertSame('MEGA STORE Hockenheim', $stock->stores[0]->store->name, 'the key works for what it may call');
        try {
            $client->getOrder(self::CUSTOMER, self::ORDER);
            self::fail('expected PermissionDeniedException');
        } catch (PermissionDeniedException $e) {
            self::assertSame(403, $e->httpStatus);
            self::assertSame(7, $e->getCode());
        }
    }

    public function testARateLimitIsResourceExhaustedWithRetryAfter(): void
    {
        $client = self::client(['apiKey' => self::env('OC_LIMITED_KEY')]);
        $client->listOrders('4713');  // the customer's one call
        self::assertRateLimited(fn () => $client->listOrders('4713'));
    }

    public function testUnavailableIsRetriedOnceThenReported(): void
    {
        $client = self::client(['baseUrl' => self::env('OC_BASE_URL_NO_AGENT')]);
        try {
            $client->getOrder(self::CUSTOMER, self::ORDER, options: new CallOptions(requestId: 'php-retry-1'));
            self::fail('expected UnavailableException');
        } catch (UnavailableException $e) {
            self::assertSame(503, $e->httpStatus, 'the gateway answered: no agent connected');
            self::assertSame(14, $e->getCode());
            self::assertSame(2, $e->attempts);
            self::assertSame('php-retry-1', $e->requestId);
        }
        self::assertSame(2, $client->requestsSent(), 'one call, one retry');
        self::assertSame(1, $client->connectionsOpened(), 'the retry reuses the connection');
    }

    public function testWithoutRetriesUnavailableIsReportedAtOnce(): void
    {
        $client = self::client(['baseUrl' => self::env('OC_BASE_URL_NO_AGENT'), 'retryUnavailable' => false]);
        try {
            $client->listOrders(self::CUSTOMER);
            self::fail('expected UnavailableException');
        } catch (UnavailableException $e) {
            self::assertSame(1, $e->attempts);
        }
        self::assertSame(1, $client->requestsSent());
    }

    public function testAnUnreachableGatewayIsUnavailable(): void
    {
        $client = self::client(['baseUrl' => self::refusedBaseUrl()]);  // the connection is refused
        try {
            $client->getOrder(self::CUSTOMER, self::ORDER);
            self::fail('expected UnavailableException');
        } catch (UnavailableException $e) {
            self::assertSame(0, $e->httpStatus, 'no HTTP answer at all');
            self::assertSame(2, $e->attempts);
        }
    }

    public function testATinyBudgetIsDeadlineExceeded(): void
    {
        $this->expectException(DeadlineExceededException::class);
        self::client()->getOrder(self::CUSTOMER, self::ORDER, options: new CallOptions(timeout: 0.001));
    }

    public function testCallsShareOneConnection(): void
    {
        $client = self::client();
        $ports = [];
        $client->listOrders(self::CUSTOMER);
        $ports[] = $client->localPort();
        $client->getOrder(self::CUSTOMER, self::ORDER);
        $ports[] = $client->localPort();
        $client->getReorderItems(self::CUSTOMER, self::ORDER);
        $ports[] = $client->localPort();
        $client->getStoreStock('851888-XS-KI');
        $ports[] = $client->localPort();
        $client->getInvoicePdf(self::CUSTOMER, self::ORDER, self::INVOICE, fopen('php://temp', 'w+b'));
        $ports[] = $client->localPort();
        try {
            $client->getOrder(self::CUSTOMER, 'NO-SUCH-ORDER');
        } catch (NotFoundException) {
            // an error answer keeps the connection too
        }
        $client->batchGetStoreStock(['851888-XS-KI']);
        $ports[] = $client->localPort();
        self::assertSame(7, $client->requestsSent());
        self::assertSame(1, $client->connectionsOpened(), 'seven calls, one TCP connection');
        self::assertCount(1, array_unique($ports), 'the same local port every time');
    }
}
