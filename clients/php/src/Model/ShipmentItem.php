<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Internal\Json;

/** Quantity of one order line inside a parcel. (onlineconnect.v1.ShipmentItem) */
final class ShipmentItem
{
    /**
     * @param int $lineNumber The order line's lineNumber.
     * @param int $quantity Units of that line in this parcel.
     */
    public function __construct(
        public readonly int $lineNumber,
        public readonly int $quantity,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::int($j, 'lineNumber'),
            Json::int($j, 'quantity'),
        );
    }
}
