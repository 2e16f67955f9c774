"""Attendant mode: credentials, assisted sessions, device checks, held submissions."""
