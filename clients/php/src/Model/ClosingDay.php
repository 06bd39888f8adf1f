<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Internal\Json;

/** An exceptional closing day. (onlineconnect.v1.ClosingDay) */
final class ClosingDay
{
    /**
     * @param string $date The date, ISO 8601.
     * @param string $reason Why ("Inventur", "Feiertag").
     */
    public function __construct(
        public readonly string $date,
        public readonly string $reason,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::str($j, 'date'),
            Json::str($j, 'reason'),
        );
    }
}
