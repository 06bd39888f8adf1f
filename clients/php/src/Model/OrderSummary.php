<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Enum\Channel;
use OnlineConnect\Client\Enum\OrderStatus;
use OnlineConnect\Client\Internal\Json;

/** One entry of the order history; also the header of an Order. (onlineconnect.v1.OrderSummary) */
final class OrderSummary
{
    /**
     * @param string $orderNumber The ERP's order number (Belegnummer), e.g. "091782005".
     * @param string $orderDate Date the order was placed (Belegdatum), ISO 8601.
     * @param Channel $channel Channel the order came in through.
     * @param ?Money $total Order total including VAT (Betrag); null when the merchant hides prices.
     * @param OrderStatus $status Overall status.
     * @param string $statusLabel Status in words, in the requested language ("Ausgeliefert").
     * @param string $shopOrderNumber The web shop's own order number (Shop-Nummer); empty for orders not placed in
     *     the shop.
     * @param string $deliveredOn Date delivered in full (Ausgeliefert am), ISO 8601; empty while not delivered.
     * @param bool $hasInvoice True if at least one invoice or credit note can be downloaded.
     * @param bool $hasTracking True if at least one shipment has a tracking link.
     * @param bool $reorderable True if at least one line can be reordered.
     */
    public function __construct(
        public readonly string $orderNumber,
        public readonly string $orderDate,
        public readonly Channel $channel,
        public readonly ?Money $total,
        public readonly OrderStatus $status,
        public readonly string $statusLabel,
        public readonly string $shopOrderNumber,
        public readonly string $deliveredOn,
        public readonly bool $hasInvoice,
        public readonly bool $hasTracking,
        public readonly bool $reorderable,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::str($j, 'orderNumber'),
            Json::str($j, 'orderDate'),
            Channel::fromJson(Json::get($j, 'channel')),
            Json::msg($j, 'total', Money::fromJson(...)),
            OrderStatus::fromJson(Json::get($j, 'status')),
            Json::str($j, 'statusLabel'),
            Json::str($j, 'shopOrderNumber'),
            Json::str($j, 'deliveredOn'),
            Json::bool($j, 'hasInvoice'),
            Json::bool($j, 'hasTracking'),
            Json::bool($j, 'reorderable'),
        );
    }
}
