<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Internal\Json;

/**
 * Per-store stock of one article variant (GetStoreStock), nearest store first.
 * (onlineconnect.v1.GetStoreStockResponse)
 */
final class StoreStockResult
{
    /**
     * @param ?Article $article The article variant asked for.
     * @param list<StoreStock> $stores Stores, nearest first when a location was given.
     * @param ?\DateTimeImmutable $dataAsOf When the agent read the data from the ERP.
     * @param bool $fromCache True if the gateway answered from its stock cache.
     * @param bool $stale True if the cached answer is older than the cache TTL (show "as of dataAsOf").
     */
    public function __construct(
        public readonly ?Article $article,
        public readonly array $stores,
        public readonly ?\DateTimeImmutable $dataAsOf,
        public readonly bool $fromCache,
        public readonly bool $stale,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::msg($j, 'article', Article::fromJson(...)),
            array_map(StoreStock::fromJson(...), Json::objList($j, 'stores')),
            Json::timestamp($j, 'dataAsOf'),
            Json::bool($j, 'fromCache'),
            Json::bool($j, 'stale'),
        );
    }
}
