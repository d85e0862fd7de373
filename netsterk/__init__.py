"""Netsterk shared library: settings, logging, message envelope, AMQP and database helpers.

Imported by every service, the workflow worker, the bridge and the CLI. It must never import
nameko/eventlet or temporalio at module level: those live in `netsterk.nameko_support` (services
only) and `workflows/` (worker and bridge only).
"""
