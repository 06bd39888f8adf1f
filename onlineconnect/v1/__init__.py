"""Generated modules of the onlineconnect.v1 API and its OpenAPI document (do not edit)."""
