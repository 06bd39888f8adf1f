<?php

declare(strict_types=1);

// Loads the client through its Composer-free autoloader (the same file a shop without Composer uses) and the tests'
// helpers. The live tests read, from the environment:
//   OC_BASE_URL          HTTP address of a gateway with an agent on the demo ERP   (required for LiveTestCase)
//   OC_API_KEY           a shop key of that gateway with every RPC allowed          (default demo-shop-key)
//   OC_BASE_URL_NO_AGENT a gateway on which the tenant has no agent connected       (UNAVAILABLE tests)
//   OC_DENIED_KEY        a shop key that may call GetStoreStock only                (PERMISSION_DENIED test)
//   OC_LIMITED_KEY       a shop key with a per-customer limit of one call            (RESOURCE_EXHAUSTED test)
//   OC_GUEST_IP_BURST    guest lookups per customer IP the OC_BASE_URL gateway allows (guest rate-limit test)
// tests/test_php_client.py starts those processes and sets the variables.

require dirname(__DIR__) . '/autoload.php';
require __DIR__ . '/LiveTestCase.php';
