"""Online Connect: live order status and branch-store stock from the merchant's ERP to online shops."""

from __future__ import annotations

import os

__version__ = "0.1.0"

# gRPC's C core prints its own lines to stderr, past the logging pipeline (plain text among JSON lines), and since
# its move to absl logging it prints informational ones too ("Got goaway …") unless GRPC_VERBOSITY says otherwise.
# Only its errors, then; an operator who wants more sets GRPC_VERBOSITY or GRPC_TRACE. Set before grpc loads.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
