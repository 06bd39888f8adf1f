"""On-premise agent: dials out to the gateway and answers requests from the ERP."""
