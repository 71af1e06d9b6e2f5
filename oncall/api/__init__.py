"""The on-call app's API, one module per concept; each registers its viewsets on the router."""
