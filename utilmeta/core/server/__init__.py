"""The service object and the backend adaptors."""
