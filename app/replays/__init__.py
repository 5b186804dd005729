"""Bulk replay: resend a project's failed and exhausted deliveries, in batches."""
