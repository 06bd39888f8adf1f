<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Tests;

use OnlineConnect\Client\CallOptions;
use OnlineConnect\Client\Enum\Channel;
use OnlineConnect\Client\Enum\DocumentType;
use OnlineConnect\Client\Enum\Language;
use OnlineConnect\Client\Enum\LineStatus;
use OnlineConnect\Client\Enum\LineType;
use OnlineConnect\Client\Enum\OrderFilter;
use OnlineConnect\Client\Enum\OrderStatus;
use OnlineConnect\Client\Enum\ShipmentDirection;
use OnlineConnect\Client\Exception\InvalidArgumentException;
use OnlineConnect\Client\Exception\NotFoundException;
use OnlineConnect\Client\Model\OrderSummary;

/** ListOrders, GetOrder and GetReorderItems against a real gateway and agent on the demo ERP. */
final class OrdersTest extends LiveTestCase
{
    public function testListOrdersNewestFirstWithTheSheetsOrder(): void
    {
        $page = self::client()->listOrders(self::CUSTOMER, pageSize: 100);
        $numbers = array_map(static fn (OrderSummary $o): string => $o->orderNumber, $page->orders);
        self::assertContains(self::ORDER, $numbers);
        self::assertFalse($page->hasMore());
        $dates = array_map(static fn (OrderSummary $o): string => $o->orderDate, $page->orders);
        $sorted = $dates;
        rsort($sorted);
        self::assertSame($sorted, $dates, 'newest first');
        $sheet = $page->orders[array_search(self::ORDER, $numbers, true)];
        self::assertSame('2014-07-13', $sheet->orderDate);
        self::assertSame(OrderStatus::DELIVERED, $sheet->status);
        self::assertSame('Ausgeliefert', $sheet->statusLabel);
        self::assertSame(Channel::WEB, $sheet->channel);
        self::assertSame(11445, $sheet->total?->amountMinor);
        self::assertSame('EUR', $sheet->total?->currency);
        self::assertTrue($sheet->hasInvoice);
        self::assertTrue($sheet->hasTracking);
    }

    public function testPagingWalksEveryOrderOnce(): void
    {
        $client = self::client();
        $all = array_map(static fn (OrderSummary $o): string => $o->orderNumber, $client->listOrders(self::CUSTOMER, pageSize: 100)->orders);
        self::assertGreaterThan(3, count($all));
        $first = $client->listOrders(self::CUSTOMER, pageSize: 3);
        self::assertCount(3, $first->orders);
        self::assertTrue($first->hasMore());
        $second = $client->listOrders(self::CUSTOMER, pageSize: 3, pageToken: $first->nextPageToken);
        self::assertSame(array_slice($all, 3, 3), array_map(static fn (OrderSummary $o): string => $o->orderNumber, $second->orders));
        $walked = array_map(static fn (OrderSummary $o): string => $o->orderNumber, iterator_to_array($client->allOrders(self::CUSTOMER, pageSize: 3), false));
        self::assertSame($all, $walked);
    }

    public function testOpenAndHistoricalSplitTheHistory(): void
    {
        $client = self::client();
        $numbers = static fn (iterable $orders): array => array_map(static fn (OrderSummary $o): string => $o->orderNumber, [...$orders]);
        $all = $numbers($client->listOrders(self::CUSTOMER, pageSize: 100)->orders);
        $open = $numbers($client->listOrders(self::CUSTOMER, pageSize: 100, filter: OrderFilter::OPEN)->orders);
        $done = $numbers($client->listOrders(self::CUSTOMER, pageSize: 100, filter: OrderFilter::HISTORICAL)->orders);
        self::assertNotEmpty($open);
        self::assertContains(self::ORDER, $done);
        self::assertNotContains(self::ORDER, $open);
        $both = [...$open, ...$done];
        sort($both);
        sort($all);
        self::assertSame($all, $both);
    }

    public function testGetOrderIsTheProductSheetsOrder(): void
    {
        $order = self::client()->getOrder(self::CUSTOMER, self::ORDER);
        $s = $order->summary;
        self::assertSame(self::ORDER, $s->orderNumber);
        self::assertSame('2014-07-13', $s->orderDate);
        self::assertSame('114.45', $s->total?->decimal);
        self::assertSame('114,45 €', $s->total?->formatDe());
        self::assertSame('2014-07-14', $s->deliveredOn);
        self::assertSame('140511214402704', $s->shopOrderNumber);
        self::assertSame(OrderStatus::DELIVERED, $s->status);

        self::assertSame(self::SHEET_LINES, self::lineTriples($order->lines));
        self::assertSame(LineType::SHIPPING_FEE, $order->line(3)?->lineType);
        self::assertSame(LineStatus::DELIVERED, $order->line(1)?->status);
        self::assertSame(3995, $order->line(1)?->unitPrice?->amountMinor);
        self::assertTrue($order->line(1)?->reorderable);

        $parcels = $order->outboundShipments();
        self::assertCount(1, $parcels);
        self::assertSame('056326500434', $parcels[0]->parcelNumber);
        self::assertSame('DHL', $parcels[0]->carrier);
        self::assertSame(ShipmentDirection::OUTBOUND, $parcels[0]->direction);
        self::assertStringStartsWith('https://', (string) $parcels[0]->safeTrackingUrl());
        self::assertStringContainsString('056326500434', $parcels[0]->trackingUrl);

        $docs = $order->downloadableDocuments();
        self::assertSame(self::INVOICE, $docs[0]->documentId);
        self::assertSame(DocumentType::INVOICE, $docs[0]->type);

        self::assertNotEmpty($order->history);
        self::assertSame('received', $order->history[0]->code);
        self::assertInstanceOf(\DateTimeImmutable::class, $order->history[0]->at);
        self::assertSame('2014-07-13', $order->history[0]->at->format('Y-m-d'));
    }

    public function testLabelsComeInTheRequestedLanguage(): void
    {
        $order = self::client()->getOrder(self::CUSTOMER, self::ORDER, Language::EN);
        self::assertSame('Delivered', $order->summary->statusLabel);
    }

    public function testAnotherCustomersOrderIsNotFound(): void
    {
        $orders = self::client()->listOrders('4712', pageSize: 100)->orders;
        self::assertNotEmpty($orders);
        try {
            self::client()->getOrder(self::CUSTOMER, $orders[0]->orderNumber, options: new CallOptions(requestId: 'php-not-found-1'));
            self::fail('expected NotFoundException');
        } catch (NotFoundException $e) {
            self::assertSame('not_found', $e->connectCode());
            self::assertSame(5, $e->getCode());
            self::assertSame(404, $e->httpStatus);
            self::assertSame('php-not-found-1', $e->requestId);
            self::assertSame('onlineconnect.v1.OrderService/GetOrder', $e->procedure);
            self::assertSame(1, $e->attempts, 'NOT_FOUND is not retried');
        }
    }

    public function testAnInvalidPageSizeIsInvalidArgument(): void
    {
        try {
            self::client()->listOrders(self::CUSTOMER, pageSize: 101);
            self::fail('expected InvalidArgumentException');
        } catch (InvalidArgumentException $e) {
            self::assertSame(400, $e->httpStatus);
            self::assertSame(3, $e->getCode());
            self::assertStringContainsString('page_size', $e->getMessage());
        }
    }

    public function testReorderItems(): void
    {
        $client = self::client();
        $all = $client->getReorderItems(self::CUSTOMER, self::ORDER);
        self::assertSame([1, 2, 5], array_map(static fn ($i): int => $i->lineNumber, $all->items));
        self::assertSame('6392', $all->items[0]->articleNumber);
        self::assertSame(2, $all->items[0]->quantity);
        self::assertSame(3995, $all->items[0]->currentPrice?->amountMinor);
        $one = $client->getReorderItems(self::CUSTOMER, self::ORDER, [2]);
        self::assertSame(['6393'], array_map(static fn ($i): string => $i->articleNumber, $one->items));
    }
}
