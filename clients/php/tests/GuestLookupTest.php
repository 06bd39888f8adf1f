<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Tests;

use OnlineConnect\Client\CallOptions;
use OnlineConnect\Client\Enum\Language;
use OnlineConnect\Client\Enum\LineStatus;
use OnlineConnect\Client\Enum\OrderStatus;
use OnlineConnect\Client\Exception\NotFoundException;
use OnlineConnect\Client\Exception\UnavailableException;

/**
 * LookupGuestOrder ("Bestellung verfolgen") against a real gateway and agent on the demo ERP.
 *
 * Every failed pair counts against the order number's lockout (5 failures lock it), so the wrong pairs here use
 * other order numbers than the sheet's, and each test sends its own documentation address (203.0.113.0/24) as the
 * customer's IP: the live gateway allows OC_GUEST_IP_BURST lookups per IP (tests/test_php_client.py sets it low).
 */
final class GuestLookupTest extends LiveTestCase
{
    /** Invoice and delivery address of the sheet's order: Erika Mustermann, 68766 Hockenheim. */
    private const POSTCODE = '68766';

    /** Partially delivered, one line backordered; delivered to Jürgen Strauß, 10178 Berlin, invoiced to 68766. */
    private const PARTIAL = '091790117';

    /** A postcode no order has; tests/test_php_client.py checks that no log line of gateway or agent holds it. */
    private const WRONG_POSTCODE = 'XQ7 9ZZ';

    public function testTheSheetsOrderWithItsPostcodeAnswersTheReducedView(): void
    {
        $client = self::client();
        $order = $client->lookupGuestOrder(self::ORDER, self::POSTCODE, '203.0.113.10');
        $s = $order->summary;
        self::assertSame(self::ORDER, $s->orderNumber);
        self::assertSame('2014-07-13', $s->orderDate);
        self::assertSame('2014-07-14', $s->deliveredOn);
        self::assertSame(OrderStatus::DELIVERED, $s->status);
        self::assertSame('Ausgeliefert', $s->statusLabel);

        self::assertSame(self::SHEET_LINES, self::lineTriples($order->lines));
        self::assertSame(LineStatus::DELIVERED, $order->line(1)?->status);

        $parcels = $order->outboundShipments();
        self::assertCount(1, $parcels);
        self::assertSame('056326500434', $parcels[0]->parcelNumber);
        self::assertStringStartsWith('https://', (string) $parcels[0]->safeTrackingUrl());
        self::assertStringContainsString('056326500434', $parcels[0]->trackingUrl);
        self::assertNotEmpty($order->history);
        self::assertSame('received', $order->history[0]->code);
        self::assertSame(1, $client->requestsSent());
    }

    public function testTheGuestViewCarriesNoPricesDocumentsReturnsOrReorderData(): void
    {
        $order = self::client()->lookupGuestOrder(self::ORDER, self::POSTCODE, '203.0.113.11');
        self::assertNull($order->summary->total, 'no order total');
        self::assertNull($order->goodsTotal);
        self::assertNull($order->shippingTotal);
        foreach ($order->lines as $line) {
            self::assertNull($line->unitPrice, "no unit price on line $line->lineNumber");
            self::assertNull($line->lineTotal, "no line total on line $line->lineNumber");
            self::assertFalse($line->reorderable, "no reorder on line $line->lineNumber");
        }
        self::assertSame([], $order->documents, 'no invoices');
        self::assertSame([], $order->returns);
        self::assertFalse($order->summary->hasInvoice);
        self::assertFalse($order->summary->reorderable);
    }

    public function testPostcodeSpacingCaseAndTheLastNameAreFolded(): void
    {
        $client = self::client();
        $order = $client->lookupGuestOrder(self::ORDER, ' 68 766 ', '203.0.113.12', lastName: 'MUSTERMANN');
        self::assertSame(self::ORDER, $order->summary->orderNumber);
        // The delivery address's postcode works as well as the invoice address's; "Strauß" = "STRAUSS".
        $partial = $client->lookupGuestOrder(self::PARTIAL, '10178', '203.0.113.12', lastName: 'STRAUSS');
        self::assertSame(OrderStatus::PARTIALLY_DELIVERED, $partial->summary->status);
        $backordered = array_values(array_filter($partial->lines, static fn ($l): bool => $l->quantityBackordered > 0));
        self::assertNotEmpty($backordered);
        self::assertMatchesRegularExpression('/^\d{4}-\d{2}-\d{2}$/', $backordered[0]->expectedDeliveryDate);
        self::assertCount(2, $partial->outboundShipments(), 'two parcels, DPD and GLS');
    }

    public function testLabelsComeInTheRequestedLanguage(): void
    {
        $order = self::client()->lookupGuestOrder(self::ORDER, self::POSTCODE, '203.0.113.13', language: Language::EN);
        self::assertSame('Delivered', $order->summary->statusLabel);
    }

    public function testAWrongPostcodeIsNotFoundLikeAnUnknownOrderAndNotRetried(): void
    {
        $client = self::client();
        try {
            $client->lookupGuestOrder(self::PARTIAL, self::WRONG_POSTCODE, '203.0.113.14', options: new CallOptions(requestId: 'php-guest-wrong-1'));
            self::fail('expected NotFoundException');
        } catch (NotFoundException $wrong) {
            self::assertSame(404, $wrong->httpStatus);
            self::assertSame(5, $wrong->getCode());
            self::assertSame(1, $wrong->attempts, 'NOT_FOUND is not retried');
            self::assertSame('php-guest-wrong-1', $wrong->requestId);
            self::assertSame('onlineconnect.v1.OrderService/LookupGuestOrder', $wrong->procedure);
            self::assertStringNotContainsString(self::WRONG_POSTCODE, $wrong->getMessage(), 'the postcode is not echoed');
        }
        try {
            $client->lookupGuestOrder('099999999', self::WRONG_POSTCODE, '203.0.113.14');
            self::fail('expected NotFoundException');
        } catch (NotFoundException $unknown) {
            self::assertSame($unknown->getMessage(), $wrong->getMessage(), 'a wrong pair reads like an unknown order');
        }
        self::assertSame(2, $client->requestsSent());
    }

    public function testAWrongLastNameIsNotFound(): void
    {
        $this->expectException(NotFoundException::class);
        self::client()->lookupGuestOrder('091805002', self::POSTCODE, '203.0.113.15', lastName: 'Beispiel');
    }

    public function testACustomerIpThatIsNoAddressIsRefusedBeforeSending(): void
    {
        $client = self::client();
        foreach (['', 'localhost', '203.0.113.300', "203.0.113.1\r\nX-Evil: 1"] as $ip) {
            try {
                $client->lookupGuestOrder(self::ORDER, self::POSTCODE, $ip);
                self::fail("expected \\InvalidArgumentException for '$ip'");
            } catch (\InvalidArgumentException $e) {
                self::assertStringContainsString('customerIp', $e->getMessage());
            }
        }
        self::assertSame(0, $client->requestsSent());
        $v6 = $client->lookupGuestOrder(self::ORDER, self::POSTCODE, '2001:db8::17');
        self::assertSame(self::ORDER, $v6->summary->orderNumber, 'IPv6 addresses are fine');
    }

    public function testEachCustomerIpHasItsOwnLimit(): void
    {
        $client = self::client();
        $burst = (int) self::env('OC_GUEST_IP_BURST');
        for ($i = 0; $i < $burst; $i++) {
            $client->lookupGuestOrder(self::ORDER, self::POSTCODE, '203.0.113.60');
        }
        self::assertRateLimited(fn () => $client->lookupGuestOrder(self::ORDER, self::POSTCODE, '203.0.113.60'));
        $other = $client->lookupGuestOrder(self::ORDER, self::POSTCODE, '203.0.113.61');
        self::assertSame(self::ORDER, $other->summary->orderNumber, 'another customer IP is not limited');
        self::assertSame($burst + 2, $client->requestsSent());
    }

    public function testUnavailableFromTheGatewayIsNotRetried(): void
    {
        $client = self::client(['baseUrl' => self::env('OC_BASE_URL_NO_AGENT')]);
        try {
            $client->lookupGuestOrder(self::ORDER, self::POSTCODE, '203.0.113.16', options: new CallOptions(requestId: 'php-guest-offline-1'));
            self::fail('expected UnavailableException');
        } catch (UnavailableException $e) {
            self::assertSame(503, $e->httpStatus, 'the gateway answered: no agent connected');
            self::assertSame(1, $e->attempts, 'an answer from the gateway may have counted: no second attempt');
        }
        self::assertSame(1, $client->requestsSent());
    }

    public function testAnUnreachableGatewayIsRetriedOnce(): void
    {
        $refused = self::refusedBaseUrl();  // the request never left this machine
        $client = self::client(['baseUrl' => $refused]);
        try {
            $client->lookupGuestOrder(self::ORDER, self::POSTCODE, '203.0.113.17');
            self::fail('expected UnavailableException');
        } catch (UnavailableException $e) {
            self::assertSame(0, $e->httpStatus, 'no HTTP answer at all');
            self::assertSame(2, $e->attempts);
        }
        $noRetry = self::client(['baseUrl' => $refused, 'retryUnavailable' => false]);
        try {
            $noRetry->lookupGuestOrder(self::ORDER, self::POSTCODE, '203.0.113.17');
            self::fail('expected UnavailableException');
        } catch (UnavailableException $e) {
            self::assertSame(1, $e->attempts, 'retryUnavailable: false turns that retry off too');
        }
    }
}
