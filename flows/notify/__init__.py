"""Notify: the e-mail outbox, rendering, transports, admin notices."""
