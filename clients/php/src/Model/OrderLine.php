<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Enum\LineStatus;
use OnlineConnect\Client\Enum\LineType;
use OnlineConnect\Client\Internal\Json;

/** One line of an order. (onlineconnect.v1.OrderLine) */
final class OrderLine
{
    /**
     * @param int $lineNumber Position in the order, from 1.
     * @param LineType $lineType Product or one of the non-product kinds (shipping fee, catalogue, ...).
     * @param string $articleNumber Article number ("6392", "SY 1").
     * @param string $description Article description (Bezeichnung).
     * @param ?Variant $variant Colour and size if the article has variants.
     * @param string $sku Variant-level article number, if the article has variants.
     * @param ?Money $unitPrice Price of one unit including VAT; null when prices are hidden.
     * @param ?Money $lineTotal Line total including VAT; null when prices are hidden.
     * @param int $quantityOrdered Quantity ordered.
     * @param int $quantityInvoiced Quantity invoiced.
     * @param int $quantityShipped Quantity shipped.
     * @param int $quantityBackordered Quantity waiting for stock (follows later).
     * @param int $quantityCancelled Quantity cancelled.
     * @param int $quantityReturned Quantity returned.
     * @param LineStatus $status Delivery state of this line (Lieferstatus).
     * @param string $statusLabel Line status in words ("Lieferbar").
     * @param string $expectedDeliveryDate Expected delivery date of open or backordered quantity, ISO 8601; empty if
     *     not known.
     * @param bool $reorderable True if this line can go back into the cart.
     */
    public function __construct(
        public readonly int $lineNumber,
        public readonly LineType $lineType,
        public readonly string $articleNumber,
        public readonly string $description,
        public readonly ?Variant $variant,
        public readonly string $sku,
        public readonly ?Money $unitPrice,
        public readonly ?Money $lineTotal,
        public readonly int $quantityOrdered,
        public readonly int $quantityInvoiced,
        public readonly int $quantityShipped,
        public readonly int $quantityBackordered,
        public readonly int $quantityCancelled,
        public readonly int $quantityReturned,
        public readonly LineStatus $status,
        public readonly string $statusLabel,
        public readonly string $expectedDeliveryDate,
        public readonly bool $reorderable,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::int($j, 'lineNumber'),
            LineType::fromJson(Json::get($j, 'lineType')),
            Json::str($j, 'articleNumber'),
            Json::str($j, 'description'),
            Json::msg($j, 'variant', Variant::fromJson(...)),
            Json::str($j, 'sku'),
            Json::msg($j, 'unitPrice', Money::fromJson(...)),
            Json::msg($j, 'lineTotal', Money::fromJson(...)),
            Json::int($j, 'quantityOrdered'),
            Json::int($j, 'quantityInvoiced'),
            Json::int($j, 'quantityShipped'),
            Json::int($j, 'quantityBackordered'),
            Json::int($j, 'quantityCancelled'),
            Json::int($j, 'quantityReturned'),
            LineStatus::fromJson(Json::get($j, 'status')),
            Json::str($j, 'statusLabel'),
            Json::str($j, 'expectedDeliveryDate'),
            Json::bool($j, 'reorderable'),
        );
    }
}
