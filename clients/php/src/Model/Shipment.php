<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Enum\ShipmentDirection;
use OnlineConnect\Client\Internal\Json;

/** A parcel, outbound or return. (onlineconnect.v1.Shipment) */
final class Shipment
{
    /**
     * @param string $shipmentId The ERP's shipment id, unique within the order.
     * @param string $carrier Carrier code ("DHL", "DPD", "GLS", "HERMES", "UPS", ...).
     * @param string $parcelNumber Parcel number (Paketnummer), e.g. "056326500434".
     * @param string $trackingUrl Link to the carrier's tracking page; empty if the carrier has no template. Check the
     *     scheme before using it as a link.
     * @param string $shippedOn Date handed to the carrier, ISO 8601.
     * @param string $deliveredOn Date delivered, ISO 8601; empty while under way.
     * @param ShipmentDirection $direction Outbound or return parcel.
     * @param list<ShipmentItem> $items Which lines and quantities the parcel carries.
     */
    public function __construct(
        public readonly string $shipmentId,
        public readonly string $carrier,
        public readonly string $parcelNumber,
        public readonly string $trackingUrl,
        public readonly string $shippedOn,
        public readonly string $deliveredOn,
        public readonly ShipmentDirection $direction,
        public readonly array $items,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::str($j, 'shipmentId'),
            Json::str($j, 'carrier'),
            Json::str($j, 'parcelNumber'),
            Json::str($j, 'trackingUrl'),
            Json::str($j, 'shippedOn'),
            Json::str($j, 'deliveredOn'),
            ShipmentDirection::fromJson(Json::get($j, 'direction')),
            array_map(ShipmentItem::fromJson(...), Json::objList($j, 'items')),
        );
    }

    /** The tracking link if it is an http(s) URL, else null: safe to put into an href. */
    public function safeTrackingUrl(): ?string
    {
        return preg_match('~^https?://~i', $this->trackingUrl) === 1 ? $this->trackingUrl : null;
    }
}
