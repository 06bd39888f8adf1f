<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

/** Where the customer is, to sort stores by distance: a postcode with its country, or coordinates. */
final class Location
{
    private function __construct(
        public readonly string $postcode,
        public readonly string $country,
        public readonly float $latitude,
        public readonly float $longitude,
    ) {
    }

    /** A postcode ("68766") with its ISO 3166-1 alpha-2 country ("DE"), resolved by the agent's postcode table. */
    public static function postcode(string $postcode, string $country = 'DE'): self
    {
        return new self($postcode, $country, 0.0, 0.0);
    }

    /** WGS 84 coordinates in degrees. */
    public static function coordinates(float $latitude, float $longitude): self
    {
        return new self('', '', $latitude, $longitude);
    }

    /**
     * The proto3 JSON of onlineconnect.v1.Location, defaults left out.
     *
     * @return array<string, string|float>
     */
    public function toJson(): array
    {
        return array_filter(
            ['latitude' => $this->latitude, 'longitude' => $this->longitude, 'postcode' => $this->postcode,
                'country' => $this->country],
            static fn (string|float $v): bool => $v !== '' && $v !== 0.0,
        );
    }
}
