"""Tickets, A4 receipts and issued documents: printing through the print journal."""
