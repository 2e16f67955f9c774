"""Supporting documents scanned on the kiosk: pages, and the journey's scanning step."""
