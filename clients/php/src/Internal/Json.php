<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Internal;

/**
 * Reading proto3 JSON (https://protobuf.dev/programming-guides/json/) into PHP values.
 *
 * Answers name fields in lowerCamelCase ("orderNumber"); a server configured to keep the proto names sends
 * snake_case ("order_number"), and both are read. Fields with their default value may be absent: absent reads as
 * the default (0, "", false, empty list, null for a message). int64 values arrive as strings, bytes as base64,
 * timestamps as RFC 3339 strings. A value of the wrong type throws \UnexpectedValueException, which the client
 * reports as an InternalException (the answer is not what the contract says).
 *
 * @internal
 */
final class Json
{
    /** The raw value of a field, by its lowerCamelCase name, or its snake_case name; null if absent. */
    public static function get(array $j, string $field): mixed
    {
        static $snake = [];
        if (array_key_exists($field, $j)) {
            return $j[$field];
        }
        $snake[$field] ??= strtolower((string) preg_replace('/[A-Z]/', '_$0', $field));
        return $j[$snake[$field]] ?? null;
    }

    public static function str(array $j, string $field): string
    {
        $v = self::get($j, $field);
        if ($v === null) {
            return '';
        }
        if (!is_string($v)) {
            throw self::bad($field, 'a string', $v);
        }
        return $v;
    }

    /** An int32 (JSON number) or int64 (JSON string, or number) field. */
    public static function int(array $j, string $field): int
    {
        $v = self::get($j, $field);
        if ($v === null) {
            return 0;
        }
        if (is_int($v)) {
            return $v;
        }
        if (is_float($v) && floor($v) === $v && abs($v) < 2 ** 53) {
            return (int) $v;
        }
        if (is_string($v) && preg_match('/^-?\d{1,19}$/', $v) === 1) {
            return (int) $v;
        }
        throw self::bad($field, 'an integer', $v);
    }

    /** A double field: a number, or one of the strings "NaN", "Infinity", "-Infinity" or a numeric string. */
    public static function float(array $j, string $field): float
    {
        $v = self::get($j, $field);
        if ($v === null) {
            return 0.0;
        }
        if (is_int($v) || is_float($v)) {
            return (float) $v;
        }
        if (is_string($v)) {
            return match ($v) {
                'NaN' => NAN,
                'Infinity' => INF,
                '-Infinity' => -INF,
                default => is_numeric($v) ? (float) $v : throw self::bad($field, 'a number', $v),
            };
        }
        throw self::bad($field, 'a number', $v);
    }

    public static function bool(array $j, string $field): bool
    {
        $v = self::get($j, $field);
        if ($v === null) {
            return false;
        }
        if (!is_bool($v)) {
            throw self::bad($field, 'true or false', $v);
        }
        return $v;
    }

    /** A message field as an array, or null if absent. */
    public static function obj(array $j, string $field): ?array
    {
        $v = self::get($j, $field);
        if ($v === null) {
            return null;
        }
        if (!is_array($v) || (array_is_list($v) && $v !== [])) {
            throw self::bad($field, 'an object', $v);
        }
        return $v;
    }

    /**
     * A message field read by $read, or null if absent.
     *
     * @template T
     * @param callable(array<string, mixed>): T $read
     * @return T|null
     */
    public static function msg(array $j, string $field, callable $read): mixed
    {
        $v = self::obj($j, $field);
        return $v === null ? null : $read($v);
    }

    /**
     * A repeated message field.
     *
     * @return list<array<string, mixed>>
     */
    public static function objList(array $j, string $field): array
    {
        $v = self::get($j, $field);
        if ($v === null) {
            return [];
        }
        if (!is_array($v) || !array_is_list($v)) {
            throw self::bad($field, 'a list', $v);
        }
        foreach ($v as $item) {
            if (!is_array($item)) {
                throw self::bad($field, 'a list of objects', $v);
            }
        }
        return $v;
    }

    /** A google.protobuf.Timestamp field (RFC 3339, "2014-07-13T08:14:00Z"), or null if absent. */
    public static function timestamp(array $j, string $field): ?\DateTimeImmutable
    {
        $v = self::get($j, $field);
        if ($v === null || $v === '') {
            return null;
        }
        if (!is_string($v)) {
            throw self::bad($field, 'an RFC 3339 timestamp', $v);
        }
        // Up to nine fractional digits on the wire; PHP keeps six.
        $rfc3339 = '/^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/';
        $ts = false;
        if (preg_match($rfc3339, $v, $m) === 1) {
            $zone = strtoupper($m[4]) === 'Z' ? '+00:00' : $m[4];
            $fraction = str_pad(substr($m[3] ?? '', 0, 6), 6, '0');
            $ts = \DateTimeImmutable::createFromFormat('Y-m-d\TH:i:s.uP', "{$m[1]}T{$m[2]}.$fraction$zone");
        }
        if ($ts === false) {
            throw self::bad($field, 'an RFC 3339 timestamp', $v);
        }
        return $ts;
    }

    /** A bytes field: standard or URL-safe base64, with or without padding. */
    public static function bytes(array $j, string $field): string
    {
        $v = self::str($j, $field);
        $decoded = base64_decode(strtr($v, '-_', '+/'), true);
        if ($decoded === false) {
            throw self::bad($field, 'base64', $v);
        }
        return $decoded;
    }

    /**
     * A request message as JSON. Keys are lowerCamelCase; default values are left out. An empty message is "{}".
     *
     * @param array<string, mixed> $message
     */
    public static function encode(array $message): string
    {
        if ($message === []) {
            return '{}';
        }
        return json_encode($message, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE
            | JSON_PRESERVE_ZERO_FRACTION);
    }

    /** Decodes a JSON object; throws \UnexpectedValueException for anything else. */
    public static function decodeObject(string $body): array
    {
        try {
            $v = json_decode($body, true, 64, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING);
        } catch (\JsonException $e) {
            throw new \UnexpectedValueException('answer is not valid JSON: ' . $e->getMessage(), 0, $e);
        }
        if (!is_array($v) || (array_is_list($v) && $v !== [])) {
            throw new \UnexpectedValueException('answer is not a JSON object');
        }
        return $v;
    }

    private static function bad(string $field, string $expected, mixed $got): \UnexpectedValueException
    {
        $shown = is_scalar($got) ? var_export($got, true) : get_debug_type($got);
        return new \UnexpectedValueException(sprintf('field %s: expected %s, got %s', $field, $expected, $shown));
    }
}
