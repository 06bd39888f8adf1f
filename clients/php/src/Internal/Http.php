<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Internal;

/**
 * HTTP exchanges over one curl handle, kept for the client's lifetime: curl keeps the connection (and the TLS
 * session) open between calls and reuses it, so a page making five calls opens one connection, not five.
 *
 * @internal
 */
final class Http
{
    /** Error answers (not streamed) are cut off beyond this size. */
    private const MAX_BODY = 32 * 1024 * 1024;

    private \CurlHandle $curl;

    /** @var array<int, mixed> curl options set on every exchange */
    private array $baseOptions;

    private int $connectionsOpened = 0;

    private int $exchanges = 0;

    /**
     * @param array<int, mixed> $options TLS, connect timeout and user agent options from the client
     */
    public function __construct(array $options)
    {
        $handle = curl_init();
        if ($handle === false) {
            throw new \RuntimeException('curl_init failed');
        }
        $this->curl = $handle;
        $this->baseOptions = $options + [
            CURLOPT_PROTOCOLS => CURLPROTO_HTTP | CURLPROTO_HTTPS,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_NOSIGNAL => true,
            CURLOPT_TCP_NODELAY => true,
            CURLOPT_TCP_KEEPALIVE => 1,
            CURLOPT_ENCODING => 'gzip',  // Accept-Encoding: gzip; curl decompresses the answer itself
        ];
    }

    /**
     * Sends one GET or POST request and waits for the whole answer.
     *
     * @param list<string> $headers "Name: value" lines
     * @param float $timeout seconds for the whole exchange, connection set-up included
     * @param (callable(string, Response): void)|null $onBody receives the body piece by piece when the status is
     *     200 (Response then holds status and headers); null, or any other status, collects the body in Response
     * @throws TransportException when curl fails; anything $onBody throws is rethrown after the transfer stops
     */
    public function exchange(
        string $method,
        string $url,
        array $headers,
        ?string $body,
        float $timeout,
        ?callable $onBody = null,
    ): Response {
        $response = new Response();
        $failure = null;
        $options = $this->baseOptions;
        $timeoutMs = max(1, (int) ceil($timeout * 1000));
        $options[CURLOPT_URL] = $url;
        $options[CURLOPT_HTTPHEADER] = [...$headers, 'Expect:'];
        $options[CURLOPT_TIMEOUT_MS] = $timeoutMs;
        $connectMs = (int) ($options[CURLOPT_CONNECTTIMEOUT_MS] ?? $timeoutMs);
        $options[CURLOPT_CONNECTTIMEOUT_MS] = min($timeoutMs, $connectMs);
        if ($method === 'GET') {
            $options[CURLOPT_HTTPGET] = true;
        } else {
            $options[CURLOPT_POST] = true;
            $options[CURLOPT_POSTFIELDS] = $body ?? '';
        }
        $options[CURLOPT_HEADERFUNCTION] = static function ($ch, string $line) use ($response): int {
            if (preg_match('~^HTTP/\S+\s+(\d{3})~', $line, $m) === 1) {
                // A new status line (after "100 Continue" or a redirect) starts a new set of headers.
                $response->status = (int) $m[1];
                $response->headers = [];
            } elseif (str_contains($line, ':')) {
                [$name, $value] = explode(':', $line, 2);
                $response->headers[strtolower(trim($name))][] = trim($value);
            }
            return strlen($line);
        };
        $options[CURLOPT_WRITEFUNCTION] = static function ($ch, string $data) use ($response, $onBody, &$failure): int {
            if ($failure !== null) {
                return 0;
            }
            if ($onBody !== null && $response->status === 200) {
                try {
                    $onBody($data, $response);
                } catch (\Throwable $e) {
                    $failure = $e;
                    return 0;  // aborts the transfer; the exception is rethrown below
                }
            } elseif (strlen($response->body) < self::MAX_BODY) {
                $response->body .= $data;
            }
            return strlen($data);
        };

        curl_reset($this->curl);  // options only: live connections stay in the handle's cache
        curl_setopt_array($this->curl, $options);
        $ok = curl_exec($this->curl);
        $this->exchanges++;
        $this->connectionsOpened += (int) curl_getinfo($this->curl, CURLINFO_NUM_CONNECTS);
        if ($failure !== null) {
            throw $failure;
        }
        if ($ok === false) {
            $errno = curl_errno($this->curl);
            throw new TransportException(sprintf('%s (curl error %d)', curl_error($this->curl), $errno), $errno);
        }
        return $response;
    }

    /** New connections opened so far (a reused connection adds nothing). */
    public function connectionsOpened(): int
    {
        return $this->connectionsOpened;
    }

    /** HTTP exchanges made so far, retries included. */
    public function exchanges(): int
    {
        return $this->exchanges;
    }

    /** The local TCP port of the last exchange's connection (the same port means the same connection). */
    public function localPort(): int
    {
        return (int) curl_getinfo($this->curl, CURLINFO_LOCAL_PORT);
    }
}
