"""Support-staff accounts of the console: argon2id passwords, throttled sign-in."""
