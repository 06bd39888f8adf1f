"""Generated protobuf and gRPC modules of the onlineconnect.v1 API (do not edit)."""
