<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Enum\ShipmentDirection;
use OnlineConnect\Client\Internal\Json;

/**
 * An order with every detail the merchant chose to show (GetOrder). Hidden groups are empty.
 * (onlineconnect.v1.Order)
 */
final class Order
{
    /**
     * @param OrderSummary $summary Header fields, the same as in the order history.
     * @param list<OrderLine> $lines Order lines in line-number order.
     * @param list<Shipment> $shipments Parcels, outbound and return, in shipping order.
     * @param list<Document> $documents Invoices and credit notes.
     * @param list<OrderReturn> $returns Returns and exchanges.
     * @param list<StatusEvent> $history What happened and when, oldest first.
     * @param ?Money $goodsTotal Subtotal of product lines; null when prices are hidden.
     * @param ?Money $shippingTotal Shipping fees and surcharges; null when prices are hidden.
     */
    public function __construct(
        public readonly OrderSummary $summary,
        public readonly array $lines,
        public readonly array $shipments,
        public readonly array $documents,
        public readonly array $returns,
        public readonly array $history,
        public readonly ?Money $goodsTotal,
        public readonly ?Money $shippingTotal,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            OrderSummary::fromJson(Json::obj($j, 'summary') ?? []),
            array_map(OrderLine::fromJson(...), Json::objList($j, 'lines')),
            array_map(Shipment::fromJson(...), Json::objList($j, 'shipments')),
            array_map(Document::fromJson(...), Json::objList($j, 'documents')),
            array_map(OrderReturn::fromJson(...), Json::objList($j, 'returns')),
            array_map(StatusEvent::fromJson(...), Json::objList($j, 'history')),
            Json::msg($j, 'goodsTotal', Money::fromJson(...)),
            Json::msg($j, 'shippingTotal', Money::fromJson(...)),
        );
    }

    /** The line with $lineNumber, or null. */
    public function line(int $lineNumber): ?OrderLine
    {
        foreach ($this->lines as $line) {
            if ($line->lineNumber === $lineNumber) {
                return $line;
            }
        }
        return null;
    }

    /**
     * Parcels from the merchant to the customer (including replacements of an exchange).
     *
     * @return list<Shipment>
     */
    public function outboundShipments(): array
    {
        return array_values(array_filter(
            $this->shipments,
            static fn (Shipment $s): bool => $s->direction !== ShipmentDirection::RETURN,
        ));
    }

    /**
     * Invoices and credit notes whose PDF can be downloaded.
     *
     * @return list<Document>
     */
    public function downloadableDocuments(): array
    {
        return array_values(array_filter($this->documents, static fn (Document $d): bool => $d->pdfAvailable));
    }
}
