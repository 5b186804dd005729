"""The support console (``/console``): staff of a project search and replay deliveries."""
