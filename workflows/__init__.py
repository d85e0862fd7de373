"""Temporal side of Netsterk: the referral lifecycle workflow, its worker and the AMQP bridge.

Only this package imports temporalio; it never imports nameko or eventlet."""
