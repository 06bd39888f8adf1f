<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Tests;

use PHPUnit\Framework\TestCase;

/** The PHP enums follow the protos: same names, same numbers, nothing missing. */
final class EnumsTest extends TestCase
{
    /** @return array<string, array{string, list<string>}> enum name => [name, proto value names in number order] */
    public static function protoEnums(): array
    {
        $out = [];
        foreach (glob(dirname(__DIR__, 3) . '/protos/onlineconnect/v1/{common,orders,stock}.proto', GLOB_BRACE) ?: [] as $file) {
            preg_match_all('/^enum (\w+) \{(.*?)^\}/ms', (string) file_get_contents($file), $enums, PREG_SET_ORDER);
            foreach ($enums as [, $name, $body]) {
                preg_match_all('/^\s*(\w+) = (\d+);/m', $body, $values, PREG_SET_ORDER);
                $names = [];
                foreach ($values as [, $value, $number]) {
                    $names[(int) $number] = $value;
                }
                ksort($names);
                $out[$name] = [$name, array_values($names)];
            }
        }
        return $out;
    }

    public function testTheProtosWereFound(): void
    {
        self::assertArrayHasKey('OrderStatus', self::protoEnums());
        self::assertArrayHasKey('Availability', self::protoEnums());
    }

    /**
     * @dataProvider protoEnums
     * @param list<string> $names
     */
    public function testEnumMatchesTheProto(string $enum, array $names): void
    {
        $class = 'OnlineConnect\\Client\\Enum\\' . $enum;
        self::assertTrue(enum_exists($class), "$class is missing");
        self::assertSame(range(0, count($names) - 1), array_keys($names), "$enum: numbers are not 0..n-1");
        self::assertSame($names, array_map(static fn (\BackedEnum $c): string => (string) $c->value, $class::cases()));
        foreach ($names as $number => $name) {
            self::assertSame($number, $class::fromJson($name)->number());
            self::assertSame($name, $class::fromJson($number)->value);
        }
        self::assertSame($names[0], $class::fromJson('SOMETHING_NEWER')->value, 'an unknown value reads as UNSPECIFIED');
        self::assertSame($names[0], $class::fromJson(null)->value, 'an absent value reads as UNSPECIFIED');
    }
}
