<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Internal\Json;

/**
 * The answer of BatchGetStoreStock: one entry per distinct SKU, in request order.
 * (onlineconnect.v1.BatchGetStoreStockResponse)
 */
final class BatchStoreStockResult
{
    /**
     * @param list<BatchStoreStockEntry> $entries One entry per distinct requested SKU.
     */
    public function __construct(
        public readonly array $entries,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            array_map(BatchStoreStockEntry::fromJson(...), Json::objList($j, 'entries')),
        );
    }

    /** The entry for $sku, or null if it was not asked for. */
    public function entry(string $sku): ?BatchStoreStockEntry
    {
        foreach ($this->entries as $entry) {
            if ($entry->sku === $sku) {
                return $entry;
            }
        }
        return null;
    }
}
