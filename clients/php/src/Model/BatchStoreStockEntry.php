<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Internal\Json;

/** The answer for one SKU of BatchGetStoreStock. (onlineconnect.v1.BatchStoreStockEntry) */
final class BatchStoreStockEntry
{
    /**
     * @param string $sku The SKU asked for.
     * @param int $code gRPC status code of this entry: 0 (OK) or 5 (NOT_FOUND) for an unknown SKU.
     * @param string $message Error message when code is not 0.
     * @param ?StoreStockResult $stock The answer when code is 0.
     */
    public function __construct(
        public readonly string $sku,
        public readonly int $code,
        public readonly string $message,
        public readonly ?StoreStockResult $stock,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::str($j, 'sku'),
            Json::int($j, 'code'),
            Json::str($j, 'message'),
            Json::msg($j, 'stock', StoreStockResult::fromJson(...)),
        );
    }

    /** True if the SKU is known (code 0) and $stock holds its answer. */
    public function isFound(): bool
    {
        return $this->code === 0 && $this->stock !== null;
    }
}
