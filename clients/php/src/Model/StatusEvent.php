<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Internal\Json;

/** Something that happened to an order. (onlineconnect.v1.StatusEvent) */
final class StatusEvent
{
    /**
     * @param ?\DateTimeImmutable $at When it happened.
     * @param string $code Machine-readable step: "received", "shipped", "delivered", ...
     * @param string $label The step in words, in the requested language.
     */
    public function __construct(
        public readonly ?\DateTimeImmutable $at,
        public readonly string $code,
        public readonly string $label,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::timestamp($j, 'at'),
            Json::str($j, 'code'),
            Json::str($j, 'label'),
        );
    }
}
