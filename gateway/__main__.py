"""``onlineconnect-gateway``: run the relay.

onlineconnect-gateway --config gateway.toml
onlineconnect-gateway --config gateway.toml --print-config
kill -HUP <pid>          # re-read gateway.toml: credentials, keys, limits (tunnels stay up)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from onlineconnect.errors import ConfigError
from onlineconnect.logs import configure

from .config import load_gateway_config
from .server import GatewayServer


async def _serve(server: GatewayServer) -> None:
    await server.start()
    # SIGHUP re-reads the configuration file: new, rotated or revoked credentials without a restart.
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, server.reloader.request)
    try:
        await server.serve_forever()
    finally:
        loop.remove_signal_handler(signal.SIGHUP)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="onlineconnect-gateway", description="Run the Online Connect gateway (relay)."
    )
    parser.add_argument("--config", type=Path, required=True, help="gateway TOML file")
    parser.add_argument(
        "--print-config", action="store_true", help="print the effective configuration (secrets masked) and exit"
    )
    args = parser.parse_args(argv)
    try:
        config = load_gateway_config(args.config)
    except ConfigError as exc:
        print(f"onlineconnect-gateway: configuration error: {exc.message}", file=sys.stderr)
        return 2
    if args.print_config:
        print(json.dumps(config.printable(), indent=2))
        return 0
    configure(fmt=config.log_format, level=config.log_level, role="gateway")
    try:
        asyncio.run(_serve(GatewayServer(config)))
    except OSError as exc:
        print(f"onlineconnect-gateway: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
