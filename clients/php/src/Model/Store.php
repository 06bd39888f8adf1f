<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Internal\Json;

/** A branch store. (onlineconnect.v1.Store) */
final class Store
{
    /**
     * @param string $storeId The ERP's store id.
     * @param string $name Store name ("MEGA STORE Hockenheim").
     * @param string $street Street and house number.
     * @param string $postcode Postcode.
     * @param string $city City.
     * @param string $country ISO 3166-1 alpha-2 country code.
     * @param string $phone Phone number as the store publishes it.
     * @param float $latitude Latitude (WGS 84).
     * @param float $longitude Longitude (WGS 84).
     * @param list<OpeningHours> $openingHours Regular opening hours, one entry per opening period.
     * @param list<ClosingDay> $closingDays Upcoming exceptional closing days.
     */
    public function __construct(
        public readonly string $storeId,
        public readonly string $name,
        public readonly string $street,
        public readonly string $postcode,
        public readonly string $city,
        public readonly string $country,
        public readonly string $phone,
        public readonly float $latitude,
        public readonly float $longitude,
        public readonly array $openingHours,
        public readonly array $closingDays,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::str($j, 'storeId'),
            Json::str($j, 'name'),
            Json::str($j, 'street'),
            Json::str($j, 'postcode'),
            Json::str($j, 'city'),
            Json::str($j, 'country'),
            Json::str($j, 'phone'),
            Json::float($j, 'latitude'),
            Json::float($j, 'longitude'),
            array_map(OpeningHours::fromJson(...), Json::objList($j, 'openingHours')),
            array_map(ClosingDay::fromJson(...), Json::objList($j, 'closingDays')),
        );
    }
}
