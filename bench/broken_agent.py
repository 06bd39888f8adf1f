"""An agent that breaks on purpose after a few calls, to prove that ``make chaos`` can fail.

    python bench/broken_agent.py --hang-after 4 --config agent.toml

Runs the real agent (``onlineconnect-agent``'s own ``main``) with one change made here, never in the agent's
code: after ``--hang-after`` answered unary calls, every further call is accepted and never answered. The tunnel
stays up and the gateway keeps reporting the tenant SERVING, so only the shops' outcomes reveal the fault.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from onlineconnect.agent import __main__ as agent_main
from onlineconnect.agent.handlers import Handlers


def hang_after(calls: int) -> None:
    """Makes every :class:`Handlers` answer ``calls`` unary calls, then hang on each further one."""
    answer = Handlers.unary
    count = 0

    async def unary(self: Handlers, call: Any, request: Any, ctx: Any) -> Any:
        nonlocal count
        count += 1
        if count > calls:
            await asyncio.Event().wait()  # never set: the call is taken and never answered
        return await answer(self, call, request, ctx)

    Handlers.unary = unary  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hang-after", type=int, required=True, help="unary calls answered before hanging")
    args, rest = parser.parse_known_args(argv)
    hang_after(args.hang_after)
    return agent_main.main(rest)


if __name__ == "__main__":
    sys.exit(main())
