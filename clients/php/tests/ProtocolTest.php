<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Tests;

use OnlineConnect\Client\Enum\Availability;
use OnlineConnect\Client\Enum\OrderStatus;
use OnlineConnect\Client\Exception;
use OnlineConnect\Client\Exception\OnlineConnectException;
use OnlineConnect\Client\Internal\EnvelopeReader;
use OnlineConnect\Client\Internal\Json;
use OnlineConnect\Client\Model\Location;
use OnlineConnect\Client\Model\Money;
use OnlineConnect\Client\Model\Order;
use OnlineConnect\Client\Model\StoreStockResult;
use OnlineConnect\Client\OnlineConnectClient;
use PHPUnit\Framework\TestCase;

/** The client's pieces that need no server: stream framing, proto3 JSON reading, error classes, options. */
final class ProtocolTest extends TestCase
{
    public function testEnvelopesAreSplitWhateverTheChunkBoundaries(): void
    {
        $wire = EnvelopeReader::envelope('{"data":"JVBERi0="}')
            . EnvelopeReader::envelope(str_repeat('x', 70000))
            . EnvelopeReader::envelope('{}', EnvelopeReader::FLAG_END_STREAM);
        foreach ([1, 3, 5, 7, 4096, strlen($wire)] as $size) {
            $reader = new EnvelopeReader();
            $messages = [];
            foreach (str_split($wire, $size) as $chunk) {
                array_push($messages, ...$reader->push($chunk));
            }
            self::assertSame([[0, '{"data":"JVBERi0="}'], [0, str_repeat('x', 70000)], [2, '{}']], $messages);
            self::assertFalse($reader->hasPartial());
        }
        $reader = new EnvelopeReader();
        self::assertSame([], $reader->push(substr(EnvelopeReader::envelope('{}'), 0, 6)));
        self::assertTrue($reader->hasPartial(), 'half a message is left over');
    }

    public function testAnOversizedEnvelopeIsRefused(): void
    {
        $this->expectException(\UnexpectedValueException::class);
        (new EnvelopeReader(1024))->push(pack('CN', 0, 1025));
    }

    public function testProto3JsonIsReadInEitherFieldNaming(): void
    {
        $camel = ['order' => ['summary' => ['orderNumber' => '091782005', 'status' => 'ORDER_STATUS_DELIVERED',
            'total' => ['amountMinor' => '11445', 'currency' => 'EUR', 'decimal' => '114.45']],
            'history' => [['at' => '2014-07-13T08:14:00.123456789Z', 'code' => 'received']]]];
        $snake = ['order' => ['summary' => ['order_number' => '091782005', 'status' => 6,
            'total' => ['amount_minor' => 11445, 'currency' => 'EUR', 'decimal' => '114.45']],
            'history' => [['at' => '2014-07-13T10:14:00.123456+02:00', 'code' => 'received']]]];
        foreach ([$camel, $snake] as $json) {
            $order = Order::fromJson($json['order']);
            self::assertSame('091782005', $order->summary->orderNumber);
            self::assertSame(OrderStatus::DELIVERED, $order->summary->status);
            self::assertSame(11445, $order->summary->total?->amountMinor);
            self::assertSame('114,45 €', $order->summary->total?->formatDe());
            self::assertSame([], $order->lines, 'absent repeated fields read as empty');
            self::assertNull($order->goodsTotal, 'an absent message reads as null');
            self::assertSame('2014-07-13 08:14:00.123456', $order->history[0]->at?->setTimezone(new \DateTimeZone('UTC'))->format('Y-m-d H:i:s.u'));
        }
    }

    public function testDefaultsAndSpecialValues(): void
    {
        $stock = StoreStockResult::fromJson(['stores' => [['store' => ['name' => 'X', 'latitude' => 'NaN'],
            'availability' => 'AVAILABILITY_IN_STOCK']]]);
        self::assertNull($stock->article);
        self::assertFalse($stock->fromCache);
        self::assertNull($stock->dataAsOf);
        self::assertSame(Availability::IN_STOCK, $stock->stores[0]->availability);
        self::assertSame(0, $stock->stores[0]->quantityAvailable);
        self::assertNan($stock->stores[0]->store->latitude);
        self::assertSame("\xff\xfe\x00", Json::bytes(['data' => '__4A'], 'data'), 'URL-safe base64 without padding');
        self::assertSame("\xff\xfe\x00", Json::bytes(['data' => '//4A'], 'data'));
        self::assertSame('1.299,00 €', (new Money(129900, 'EUR', '1299.00'))->formatDe());
        self::assertSame('-5,00 CHF', (new Money(-500, 'CHF', ''))->formatDe());
    }

    public function testWrongTypesAreRefused(): void
    {
        $this->expectException(\UnexpectedValueException::class);
        Order::fromJson(['summary' => ['orderNumber' => 91782005]]);
    }

    public function testRequestJson(): void
    {
        self::assertSame('{}', Json::encode([]));
        self::assertSame(['postcode' => '68766', 'country' => 'DE'], Location::postcode('68766')->toJson());
        self::assertSame(['latitude' => 49.3, 'longitude' => 8.5], Location::coordinates(49.3, 8.5)->toJson());
    }

    public function testOneExceptionClassPerConnectCode(): void
    {
        $seen = [];
        foreach (OnlineConnectException::GRPC_CODES as $code => $number) {
            $e = OnlineConnectException::fromCode($code, 'm', 'p', 'rid', 500, 1.5);
            $class = get_class($e);
            self::assertNotSame(OnlineConnectException::class, $class);
            self::assertSame($code, $e->connectCode());
            self::assertSame($number, $e->getCode());
            self::assertSame('rid', $e->requestId);
            self::assertSame(2, $e->withAttempts(2)->attempts);
            self::assertSame($class, get_class($e->withAttempts(2)));
            $seen[$class] = true;
        }
        self::assertCount(16, $seen);
        self::assertInstanceOf(Exception\NotFoundException::class, OnlineConnectException::fromCode('not_found', ''));
        self::assertSame('not found', OnlineConnectException::fromCode('not_found', '')->getMessage());
        self::assertInstanceOf(Exception\UnknownException::class, OnlineConnectException::fromCode('teapot', 'x'));
    }

    public function testPlainHttpOnlyToLoopback(): void
    {
        new OnlineConnectClient('http://127.0.0.1:8081', 'k');
        new OnlineConnectClient('http://[::1]:8081', 'k');
        new OnlineConnectClient('http://relay.internal:8081', 'k', insecure: true);
        $this->expectException(\InvalidArgumentException::class);
        new OnlineConnectClient('http://relay.example.com', 'k');
    }

    public function testBadRequestIdsAreRefusedBeforeSending(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        new \OnlineConnect\Client\CallOptions(requestId: "bad id\r\nX-Injected: 1");
    }
}
