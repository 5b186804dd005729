"""The API's resources, each written once for both clients (see ``_operations``)."""
