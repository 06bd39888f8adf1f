<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Enum\Availability;
use OnlineConnect\Client\Internal\Json;

/** A branch store and its stock of the variant. (onlineconnect.v1.StoreStock) */
final class StoreStock
{
    /**
     * @param Store $store The store.
     * @param int $quantityAvailable Quantity available; 0 when showQuantity is false.
     * @param Availability $availability Availability level from the tenant's thresholds.
     * @param bool $showQuantity True if the shop may show the exact quantity ("1x verfügbar").
     * @param bool $pickupPossible True if the customer can reserve the variant for pickup in this store.
     * @param float $distanceKm Distance from the customer's location in km; 0 without a location.
     */
    public function __construct(
        public readonly Store $store,
        public readonly int $quantityAvailable,
        public readonly Availability $availability,
        public readonly bool $showQuantity,
        public readonly bool $pickupPossible,
        public readonly float $distanceKm,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Store::fromJson(Json::obj($j, 'store') ?? []),
            Json::int($j, 'quantityAvailable'),
            Availability::fromJson(Json::get($j, 'availability')),
            Json::bool($j, 'showQuantity'),
            Json::bool($j, 'pickupPossible'),
            Json::float($j, 'distanceKm'),
        );
    }
}
