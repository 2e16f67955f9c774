"""2-D barcode scanner (USB-CDC or RS-232 serial) that reads the QR on tickets and receipts."""
