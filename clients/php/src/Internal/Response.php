<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Internal;

/**
 * The status, headers and (unless streamed to a callback) body of one HTTP answer.
 *
 * @internal
 */
final class Response
{
    public int $status = 0;

    /** @var array<string, list<string>> header values by lower-case name */
    public array $headers = [];

    public string $body = '';

    /** The first value of a header, or '' if absent. */
    public function header(string $name): string
    {
        return $this->headers[strtolower($name)][0] ?? '';
    }

    /** The media type without parameters, lower case: "application/json". */
    public function mediaType(): string
    {
        return strtolower(trim(explode(';', $this->header('content-type'), 2)[0]));
    }
}
