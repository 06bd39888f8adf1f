<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Internal\Json;

/** One opening period on a weekday. (onlineconnect.v1.OpeningHours) */
final class OpeningHours
{
    /**
     * @param int $weekday ISO weekday: 1 = Monday ... 7 = Sunday.
     * @param string $opens Opening time, "09:30".
     * @param string $closes Closing time, "19:00".
     */
    public function __construct(
        public readonly int $weekday,
        public readonly string $opens,
        public readonly string $closes,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::int($j, 'weekday'),
            Json::str($j, 'opens'),
            Json::str($j, 'closes'),
        );
    }
}
