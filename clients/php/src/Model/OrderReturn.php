<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Enum\ReturnResolution;
use OnlineConnect\Client\Enum\ReturnState;
use OnlineConnect\Client\Internal\Json;

/** A return or exchange (proto message Return; "return" is a PHP keyword). (onlineconnect.v1.Return) */
final class OrderReturn
{
    /**
     * @param string $returnId The ERP's return id (RMA number).
     * @param ReturnState $state Progress.
     * @param string $stateLabel Progress in words, in the requested language.
     * @param string $requestedOn Date the return was requested, ISO 8601.
     * @param string $reason The customer's reason in words ("Größe passt nicht").
     * @param ReturnResolution $resolution How it is settled.
     * @param list<ReturnLine> $lines Lines and quantities returned.
     * @param ?Shipment $replacementShipment For an exchange: the replacement's outbound shipment, once shipped.
     */
    public function __construct(
        public readonly string $returnId,
        public readonly ReturnState $state,
        public readonly string $stateLabel,
        public readonly string $requestedOn,
        public readonly string $reason,
        public readonly ReturnResolution $resolution,
        public readonly array $lines,
        public readonly ?Shipment $replacementShipment,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::str($j, 'returnId'),
            ReturnState::fromJson(Json::get($j, 'state')),
            Json::str($j, 'stateLabel'),
            Json::str($j, 'requestedOn'),
            Json::str($j, 'reason'),
            ReturnResolution::fromJson(Json::get($j, 'resolution')),
            array_map(ReturnLine::fromJson(...), Json::objList($j, 'lines')),
            Json::msg($j, 'replacementShipment', Shipment::fromJson(...)),
        );
    }
}
