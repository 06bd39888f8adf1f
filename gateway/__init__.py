"""Cloud relay: serves shops and forwards their calls over the tenants' agent tunnels."""
