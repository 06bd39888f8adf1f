<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Tests;

use OnlineConnect\Client\Enum\Availability;
use OnlineConnect\Client\Model\Location;

/** GetStoreStock and BatchGetStoreStock against a real gateway and agent on the demo ERP. */
final class StockTest extends LiveTestCase
{
    public function testTheSheetsPoloShirtNearHockenheim(): void
    {
        $stock = self::client()->getStoreStock('851888-XS-KI', Location::postcode('68766', 'DE'));
        self::assertSame('STEEDS Poloshirt Lilli', $stock->article?->name);
        self::assertSame('kirsch', $stock->article?->colour);
        self::assertSame('XS', $stock->article?->size);
        $first = $stock->stores[0];
        self::assertSame('MEGA STORE Hockenheim', $first->store->name);
        self::assertSame(1, $first->quantityAvailable);
        self::assertTrue($first->showQuantity);
        self::assertNotSame(Availability::UNSPECIFIED, $first->availability);
        self::assertNotEmpty($first->store->openingHours);
        self::assertGreaterThan(1, count($stock->stores));
        $distances = array_map(static fn ($s): float => $s->distanceKm, $stock->stores);
        $sorted = $distances;
        sort($sorted);
        self::assertSame($sorted, $distances, 'nearest store first');
        self::assertInstanceOf(\DateTimeImmutable::class, $stock->dataAsOf);
    }

    public function testMaxStoresLimitsTheList(): void
    {
        $stock = self::client()->getStoreStock('851888-XS-KI', Location::postcode('68766', 'DE'), maxStores: 1);
        self::assertCount(1, $stock->stores);
        self::assertSame('MEGA STORE Hockenheim', $stock->stores[0]->store->name);
    }

    public function testBatchAnswersEverySkuAndAnUnknownOneSeparately(): void
    {
        $batch = self::client()->batchGetStoreStock(['851888-XS-KI', 'NO-SUCH-SKU-1', '851888-M-MA']);
        self::assertSame(['851888-XS-KI', 'NO-SUCH-SKU-1', '851888-M-MA'], array_map(static fn ($e): string => $e->sku, $batch->entries));
        self::assertTrue($batch->entry('851888-XS-KI')?->isFound());
        self::assertSame('STEEDS Poloshirt Lilli', $batch->entry('851888-XS-KI')?->stock?->article?->name);
        $missing = $batch->entry('NO-SUCH-SKU-1');
        self::assertFalse($missing?->isFound());
        self::assertSame(5, $missing?->code);
        self::assertNull($missing?->stock);
    }
}
